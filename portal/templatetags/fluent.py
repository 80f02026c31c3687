"""The admin center's Fluent UI System Icons, served from static/portal/icons/ (no CDN, no inline SVG).

``{% icon "arrow_download" %}`` renders a span whose CSS mask is the icon, so it takes the text colour.
"""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def icon(name: str, filled: bool = False, css_class: str = "") -> str:
    variant = "filled" if filled else "regular"
    url = static(f"portal/icons/{name}_20_{variant}.svg")
    classes = f"icon {css_class}".strip()
    return format_html('<span class="{}" aria-hidden="true" style="--icon:url(\'{}\')"></span>', classes, url)
