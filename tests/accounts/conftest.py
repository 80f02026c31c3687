"""Fixtures for sign-in and roles: a real OpenID Connect provider over TLS, portal users per role.

The provider is pytest-iam's Canaille, served here over HTTPS with a throw-away self-signed certificate
(msal refuses plain http), behind a tiny WSGI shim that strips a fake tenant path segment — so msal sees
an Entra-shaped authority ``https://localhost:PORT/<tenant>``, and the v2.0 discovery path
``/<tenant>/v2.0/.well-known/openid-configuration`` that ``authority=`` uses. The portal's msal trusts
that certificate through ENTRA_CA_BUNDLE (its own requests Session, ``trust_env`` off, since the
machine's REQUESTS_CA_BUNDLE would otherwise win over ``verify``).
"""

from __future__ import annotations

import ssl
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from portal.accounts.models import ApplicationOwner, RoleAssignment
from portal.accounts.roles import PortalRole
from tests.fixtures.certificates import write_self_signed
from tests.fixtures.oidc import CALLBACK, CLIENT_ID, CLIENT_SECRET, PASSWORD, TENANT, Person, Provider
from tests.fixtures.principals import PRINCIPALS
from tests.fixtures.urlmap import UrlValues


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests here skip (instead of erroring on a missing ``page``) under ``-p no:playwright``."""
    if config.pluginmanager.has_plugin("playwright"):
        return
    skip = pytest.mark.skip(reason="browser test: run without -p no:playwright")
    for item in items:
        if "browser" in item.keywords and "tests/accounts/" in item.nodeid:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_throttling(db):
    """Every test starts with no failed sign-ins recorded, so lockouts never leak between tests."""
    from axes.utils import reset

    reset()
    yield
    reset()


# ---- portal users, one per role ------------------------------------------------------------------


@pytest.fixture
def make_portal_user(django_user_model) -> Callable[..., Any]:
    """A portal user holding the given roles (none = a plain user) and owning the given apps."""

    def make(username: str, *roles: PortalRole, owns: tuple = (), superuser: bool = False, **fields: Any):
        if superuser:
            user = django_user_model.objects.create_superuser(username, f"{username}@example.com", "pw")
        else:
            user = django_user_model.objects.create_user(username, f"{username}@example.com", "pw", **fields)
        for role in roles:
            RoleAssignment.objects.create(user=user, role=role)
        for application in owns:
            ApplicationOwner.objects.create(user=user, application=application)
        return user

    return make


# ---- the permission matrix's world: one principal per role, real objects for every URL argument ----


@pytest.fixture
def world(make_portal_user) -> dict[str, Any]:
    """Real objects for every kind of URL argument, and one signed-in client per principal."""
    from portal.applications import services
    from portal.applications.models import AppRoleAssignment
    from portal.directory.models import (
        DirectoryGroup,
        DirectoryImport,
        DirectoryUser,
        GroupMembership,
        ImportKind,
    )

    person = DirectoryUser.objects.create(display_name="Ada Lovelace", user_principal_name="ada@contoso.test")
    group = DirectoryGroup.objects.create(display_name="Engineering")
    membership = GroupMembership.objects.create(group=group, user=person)
    directory_import = DirectoryImport.objects.create(
        kind=ImportKind.USERS, file_name="users.csv", content=""
    )
    app = services.instantiate("taskize-connect", "Taskize Connect")
    other = services.instantiate("scim-generic", "Other app")
    role = app.app_roles.first()
    assignment = AppRoleAssignment.objects.create(application=app, app_role=role, user=person)
    log = _log_entry(app)

    values = UrlValues()
    values.add("directory:user_*", "object_id", person.object_id)
    values.add("directory:*", "object_id", group.object_id)
    values.add("directory:*", "membership_id", membership.pk)
    values.add("directory:*", "import_id", directory_import.pk)
    values.add("applications:gallery*", "template_id", "scim-generic")
    values.add("applications:*", "object_id", app.service_principal_id, application=app)
    values.add("applications:*", "assignment_id", assignment.assignment_id)
    values.add("provisioning:*", "object_id", app.service_principal_id, application=app)
    values.add("provisioning:*", "app_pk", app.pk, application=app)
    if log is not None:
        values.add("provisioning:log_*", "pk", log.pk, application=app)
    values.add("provisioning:*", "fmt", "csv")

    apps = {"app": app, "other": other}
    clients = {}
    for principal in PRINCIPALS:
        user = make_portal_user(
            principal.name,
            *principal.roles,
            superuser=principal.superuser,
            owns=(apps[principal.owns],) if principal.owns else (),
        )
        client = Client(raise_request_exception=False)
        client.force_login(user)
        clients[principal.name] = client
    return {"values": values, "apps": apps, "clients": clients}


def _log_entry(app: Any) -> Any:
    """One provisioning log row of ``app`` (None if the log model changed shape: URLs then use a
    placeholder and 404)."""
    try:
        from provisioning.models import LogAction, LogStatus, ObjectKind, ProvisioningLog

        return ProvisioningLog.objects.create(
            job=app.provisioning,
            cycle_id=uuid.uuid4(),
            action=LogAction.values[0],
            status=LogStatus.values[0],
            object_kind=ObjectKind.values[0],
            source_name="Ada Lovelace",
        )
    except Exception:
        return None


# ---- the OpenID Connect provider ------------------------------------------------------------------


class TenantPathShim:
    """WSGI middleware: ``/<tenant>[/v2.0]/…`` → ``/…`` and the scheme is https (TLS ends in the server)."""

    def __init__(self, app: Any, tenant: str):
        self.app = app
        self.prefixes = (f"/{tenant}/v2.0", f"/{tenant}")

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        environ["wsgi.url_scheme"] = "https"
        path = environ.get("PATH_INFO", "")
        for prefix in self.prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                environ["PATH_INFO"] = path[len(prefix) :] or "/"
                break
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def iam_configuration(iam_configuration: dict[str, Any]) -> dict[str, Any]:
    """pytest-iam's configuration, issuing https URLs (the issuer is built from the preferred scheme)."""
    return {**iam_configuration, "PREFERRED_URL_SCHEME": "https"}


@pytest.fixture(scope="session")
def oidc_provider(
    iam_configuration: dict[str, Any], iam_server_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Provider]:
    """Canaille (pytest-iam) on https://localhost:PORT, in a thread, for the whole session."""
    from canaille import create_app
    from canaille.backends import Backend
    from pytest_iam import Server

    cert_path, key_path = write_self_signed(tmp_path_factory.mktemp("provider-tls"), "provider")
    app = create_app(config=iam_configuration, env_file=".pytest-iam.env", env_prefix="PYTEST_IAM_")
    server = Server(app, iam_server_port, Backend.instance)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.httpd.set_app(TenantPathShim(app, TENANT))
    thread = threading.Thread(target=server.httpd.serve_forever, name="oidc-provider", daemon=True)
    thread.start()
    try:
        with app.app_context():
            yield Provider(server=server, port=iam_server_port, ca_bundle=str(cert_path))
    finally:
        server.httpd.shutdown()
        thread.join(timeout=10)
        server.httpd.server_close()


@pytest.fixture
def portal_client_registration(oidc_provider: Provider) -> Iterator[Any]:
    """The portal registered for sign-in, its secret sent in the POST body as msal does."""
    scope = ["openid", "profile", "email", "groups", "offline_access"]
    with oidc_provider.registered_client(
        CLIENT_ID, CLIENT_SECRET, CALLBACK, "client_secret_post", scope
    ) as client:
        yield client


@pytest.fixture
def entra_settings(settings, oidc_provider: Provider, portal_client_registration: Any):
    """The portal configured for "Sign in with Microsoft" against the local provider."""
    settings.ENTRA_TENANT_ID = TENANT
    settings.ENTRA_CLIENT_ID = CLIENT_ID
    settings.ENTRA_CLIENT_SECRET = CLIENT_SECRET
    settings.ENTRA_AUTHORITY = oidc_provider.authority
    settings.ENTRA_OIDC_AUTHORITY = ""
    settings.ENTRA_INSTANCE_DISCOVERY = False
    settings.ENTRA_REDIRECT_URI = CALLBACK
    settings.ENTRA_SCOPES = ["groups"]
    settings.ENTRA_CA_BUNDLE = oidc_provider.ca_bundle
    settings.ENTRA_ROLE_MAPPING = {}
    return settings


@pytest.fixture
def make_person(oidc_provider: Provider):
    def make(*groups: str, given: str = "Ada", family: str = "Lovelace") -> Person:
        server = oidc_provider.server
        login = f"{given.lower()}-{uuid.uuid4().hex[:8]}"
        upn = f"{login}@contoso.example"
        members_of = [server.random_group(display_name=name) for name in groups]
        account = server.random_user(
            user_name=login,
            display_name=upn,  # the provider's preferred_username claim
            formatted_name=f"{given} {family}",
            given_name=given,
            family_name=family,
            emails=[upn],
            password=PASSWORD,
            groups=members_of,
        )
        return Person(login, upn, account)

    return make
