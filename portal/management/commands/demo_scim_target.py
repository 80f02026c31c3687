"""Serve the demo SCIM 2.0 target (scim2-server) that the demo app provisions into.

Its store is saved in var/demo_scim_store.json, so a restart finds the users provisioned before.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from portal.demo import DEMO_STORE, demo_scim_token
from portal.scim_target import serve_forever


class Command(BaseCommand):
    help = "Run a SCIM 2.0 server (store kept in var/) on 127.0.0.1 with the demo bearer token."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8081)

    def handle(self, *args, host: str, port: int, **options) -> None:
        token = demo_scim_token(settings.VAR_DIR)
        self.stdout.write(
            f"Demo SCIM target on http://{host}:{port}/v2 (bearer token in var/demo_scim_token)"
        )
        serve_forever(host, port, token=token, store_path=settings.VAR_DIR / DEMO_STORE)
