"""One bearer token (DJSCIM_TOKEN) signs requests in as a service principal, as a SCIM app would."""

import os

from django.contrib.auth.models import AnonymousUser
from django.http import JsonResponse


class ServicePrincipal(AnonymousUser):
    """Authenticated, but not a row of the User table (so it is not listed as a SCIM user)."""

    @property
    def is_authenticated(self):
        return True


class BearerTokenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.headers.get("Authorization") != f"Bearer {os.environ['DJSCIM_TOKEN']}":
            return JsonResponse(
                {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "401"}, status=401
            )
        request.user = ServicePrincipal()
        return self.get_response(request)
