"""Create the tables, then serve on a free loopback port and print ``READY <port>``."""

import socket

import django
from django.core.management import call_command

django.setup()
call_command("migrate", run_syncdb=True, verbosity=0)

from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer, run  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        return None


with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
print(f"READY {port}", flush=True)
run("127.0.0.1", port, get_wsgi_application(), threading=True, server_cls=WSGIServer)
