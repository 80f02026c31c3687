"""Enterprise applications pages: gallery, list, overview, delete, users and groups.

Thin: forms validate, ``services`` changes things, templates show. An htmx request gets only the part
of the page it swaps (template partials), a plain request the whole page, so every page also works
without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from portal.applications import services
from portal.applications.forms import ApplicationNameForm, AssignmentForm
from portal.applications.gallery import get_template, search_templates
from portal.applications.models import Application, AppRoleAssignment

LIST_LIMIT = 200


def _url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


def blade_context(application: Application, active: str, title: str) -> dict[str, Any]:
    """Header, left menu and breadcrumbs shared by every page of one app (``applications/_blade.html``)."""
    oid, pk = application.service_principal_id, application.pk
    logs = _url("provisioning:app_logs", pk)
    audit = _url("audit_log")
    # Grouped as Entra's enterprise-application menu.
    groups: list[tuple[str, list[tuple[str, str, str, str]]]] = [
        ("", [("overview", _("Overview"), _url("applications:overview", oid), "apps")]),
        (
            _("Manage"),
            [
                ("properties", _("Properties"), _url("applications:properties", oid), "settings"),
                ("users", _("Users and groups"), _url("applications:assignments", oid), "people"),
                (
                    "provisioning",
                    _("Provisioning"),
                    _url("provisioning:configuration", oid),
                    "person_sync",
                ),
            ],
        ),
        (
            _("Provisioning"),
            [
                (
                    "provisioning_overview",
                    _("Overview"),
                    _url("provisioning:app_overview", pk),
                    "data_bar_vertical",
                ),
                ("on_demand", _("Provision on demand"), _url("provisioning:on_demand", oid), "play"),
                ("plan", _("Plan (dry run)"), _url("provisioning:plan", oid), "clipboard"),
                ("schema", _("Review schema"), _url("provisioning:schema", oid), "code"),
            ],
        ),
        (
            _("Activity"),
            [
                ("audit", _("Audit logs"), f"{audit}?app={pk}", "history"),
                ("logs", _("Provisioning logs"), logs, "text_bullet_list"),
            ],
        ),
        (
            _("Troubleshooting"),
            [("deletions", _("Staged deletions"), _url("provisioning:deletions", oid), "wrench")],
        ),
    ]
    blade_groups = [
        {
            "label": group_label,
            "items": [
                {"key": key, "label": label, "url": url, "icon": icon, "active": key == active}
                for key, label, url, icon in items
            ],
        }
        for group_label, items in groups
    ]
    try:
        template = get_template(application.template_id)
    except KeyError:
        template = None
    return {
        "application": application,
        "app_template": template,
        "blade_title": title,
        "blade_groups": blade_groups,
        "blade_menu": [item for group in blade_groups for item in group["items"]],
        "breadcrumbs": [
            (_("Enterprise applications"), reverse("applications:app_list")),
            (application.display_name, reverse("applications:overview", args=[oid])),
            (title, None),
        ],
    }


def _application(object_id: Any) -> Application:
    return get_object_or_404(
        Application.objects.select_related("provisioning"), service_principal_id=object_id
    )


# --- list and gallery ------------------------------------------------------------------------------


def app_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    apps = list(services.search_applications(query)[: LIST_LIMIT + 1])
    context = {
        "apps": apps[:LIST_LIMIT],
        "truncated": len(apps) > LIST_LIMIT,
        "q": query,
        "breadcrumbs": [(_("Enterprise applications"), None)],
    }
    template = "applications/app_list.html"
    if request.htmx and request.htmx.target == "app-results":
        template += "#results"
    return render(request, template, context)


def gallery(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    context = {
        "templates": search_templates(query),
        "q": query,
        "breadcrumbs": [
            (_("Enterprise applications"), reverse("applications:app_list")),
            (_("Browse the gallery"), None),
        ],
    }
    template = "applications/gallery.html"
    if request.htmx and request.htmx.target == "gallery-results":
        template += "#tiles"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
def gallery_create(request: HttpRequest, template_id: str) -> HttpResponse:
    """The "Create" panel of one gallery tile: a name, then the app with its provisioning job."""
    try:
        app_template = get_template(template_id)
    except KeyError:
        raise Http404("No such gallery application") from None
    if request.method == "POST":
        form = ApplicationNameForm(request.POST)
        if form.is_valid():
            try:
                application = services.instantiate(
                    app_template.id, form.cleaned_data["display_name"], actor=request.user
                )
            except services.ApplicationError as error:
                form.add_error("display_name", error.message)
            else:
                messages.success(
                    request, f"{application.display_name} was added to your enterprise applications."
                )
                return redirect("applications:overview", application.service_principal_id)
    else:
        form = ApplicationNameForm(initial={"display_name": app_template.display_name})
    context = {
        "app_template": app_template,
        "form": form,
        "breadcrumbs": [
            (_("Enterprise applications"), reverse("applications:app_list")),
            (_("Browse the gallery"), reverse("applications:gallery")),
            (app_template.display_name, None),
        ],
    }
    return render(request, "applications/gallery_create.html", context)


# --- one application -------------------------------------------------------------------------------


def overview(request: HttpRequest, object_id: Any) -> HttpResponse:
    application = _application(object_id)
    counts = {
        "assignments": application.assignments.count(),
        "default_access": application.assignments.filter(app_role__is_default=True).count(),
    }
    context = {**blade_context(application, "overview", _("Overview")), "counts": counts}
    return render(request, "applications/overview.html", context)


@require_http_methods(["GET", "POST"])
def properties(request: HttpRequest, object_id: Any) -> HttpResponse:
    """The Properties blade: rename, and the way to delete."""
    application = _application(object_id)
    if request.method == "POST":
        form = ApplicationNameForm(request.POST)
        if form.is_valid():
            if services.rename(application, form.cleaned_data["display_name"], actor=request.user):
                messages.success(request, f"The application is now named {application.display_name}.")
            else:
                messages.info(request, _("Nothing to save: the name is unchanged."))
            return redirect("applications:properties", application.service_principal_id)
    else:
        form = ApplicationNameForm(initial={"display_name": application.display_name})
    context = {**blade_context(application, "properties", _("Properties")), "form": form}
    return render(request, "applications/properties.html", context)


@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, object_id: Any) -> HttpResponse:
    application = _application(object_id)
    if request.method == "POST":
        name = application.display_name
        services.delete_application(application, actor=request.user)
        messages.success(request, f"{name} was deleted.")
        return redirect("applications:app_list")
    context = {
        **blade_context(application, "properties", _("Delete")),
        "assignment_count": application.assignments.count(),
    }
    return render(request, "applications/delete.html", context)


# --- users and groups -------------------------------------------------------------------------------


def assignments(request: HttpRequest, object_id: Any) -> HttpResponse:
    application = _application(object_id)
    rows = list(
        application.assignments.select_related("app_role", "user", "group").order_by(
            "app_role__is_default", "group__display_name", "user__display_name", "pk"
        )
    )
    rows.sort(key=lambda a: (a.principal.display_name.casefold(), a.pk))
    context = {
        **blade_context(application, "users", _("Users and groups")),
        "assignments": rows,
        "default_access_count": sum(1 for a in rows if a.app_role.is_default),
        "tab": "assignments",
    }
    return render(request, "applications/assignments.html", context)


def effective(request: HttpRequest, object_id: Any) -> HttpResponse:
    """Who the app's assignments entitle, user by user, and through which path (direct or a group)."""
    application = _application(object_id)
    rows = services.effective_assignments(application)
    context = {
        **blade_context(application, "users", _("Users and groups")),
        "rows": rows,
        "user_count": len({r.user.pk for r in rows}),
        "tab": "effective",
    }
    return render(request, "applications/effective.html", context)


@require_http_methods(["GET", "POST"])
def assignment_add(request: HttpRequest, object_id: Any) -> HttpResponse:
    """Add assignment: search users and groups (htmx as you type), tick some, pick a role, Assign."""
    application = _application(object_id)
    data = request.POST if request.method == "POST" else request.GET
    query = data.get("q", "")
    selected = [p for p in (services.find_principal(t) for t in data.getlist("principal")) if p is not None]
    selected_tokens = {services.principal_token(p) for p in selected}
    results = [
        p for p in services.search_principals(query) if services.principal_token(p) not in selected_tokens
    ]

    form = AssignmentForm(request.POST if request.method == "POST" else None, application=application)
    if request.method == "POST" and form.is_valid():
        created = form.save(actor=request.user)
        role = form.cleaned_data["app_role"]
        names = ", ".join(a.principal.display_name for a in created)
        messages.success(request, f"Assigned {names} with the role {role.display_name}.")
        return redirect("applications:assignments", application.service_principal_id)

    context = {
        **blade_context(application, "users", _("Add assignment")),
        "form": form,
        "q": query,
        "selected": [(services.principal_token(p), p) for p in selected],
        "results": [(services.principal_token(p), p) for p in results],
    }
    template = "applications/assignment_add.html"
    if request.htmx and request.htmx.target == "candidates":
        template += "#candidates"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
def assignment_remove(request: HttpRequest, object_id: Any, assignment_id: Any) -> HttpResponse:
    application = _application(object_id)
    assignment = get_object_or_404(
        AppRoleAssignment.objects.select_related("app_role", "user", "group"),
        application=application,
        assignment_id=assignment_id,
    )
    if request.method == "POST":
        name = assignment.principal.display_name
        services.remove_assignment(assignment, actor=request.user)
        messages.success(request, f"Removed the assignment of {name}.")
        return redirect("applications:assignments", application.service_principal_id)
    context = {**blade_context(application, "users", _("Remove assignment")), "assignment": assignment}
    return render(request, "applications/assignment_remove.html", context)
