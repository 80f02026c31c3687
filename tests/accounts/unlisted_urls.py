"""The site's URLs plus one page nobody listed in the access policy (for the deny-by-default test)."""

from django.http import HttpResponse
from django.urls import path

from portal.urls import urlpatterns as site_urlpatterns


def brand_new_page(request):
    return HttpResponse("secret")


urlpatterns = [*site_urlpatterns, path("brand-new/", brand_new_page, name="brand_new_page")]
