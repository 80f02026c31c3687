"""Values travel in the type of their target attribute, and a second cycle finds nothing to send.

The target is scim2-server behind :class:`StrictBooleans`, which answers 400 ``invalidValue`` to a
string ``"True"`` the way strict targets do (scim2-server alone would coerce it).
"""

import pytest

from provisioning.connectors.scim.compat import Compatibility
from provisioning.connectors.scim.connector import ScimTarget
from provisioning.engine.attribute_types import AttributeType, ValueTypeError, canonical
from provisioning.models import ProvisioningLog
from tests.fixtures.provisioning import cycle_here, make_app, make_users
from tests.fixtures.strict_types import StrictBooleans

ACTIVE_PATHS = ("active",)


@pytest.fixture
def strict(scim_server_factory):
    """(server, middleware): a strict-boolean scim2-server."""
    seen: dict[str, StrictBooleans] = {}

    def wrap(app):
        seen["middleware"] = StrictBooleans(app)
        return seen["middleware"]

    server = scim_server_factory(wrap=wrap)
    return server, seen["middleware"]


def active_values(patches: list[dict]) -> list:
    """Every value of ``active`` in PATCH bodies (path form and path-less form)."""
    values = []
    for body in patches:
        for operation in body["Operations"]:
            if operation.get("path") == "active":
                values.append(operation["value"])
            elif not operation.get("path") and "active" in (operation.get("value") or {}):
                values.append(operation["value"]["active"])
    return values


@pytest.mark.django_db
def test_disable_then_re_enable_sends_json_booleans_and_then_nothing(strict, settings):
    settings.PROVISIONING_PAGE_SIZE = 20
    server, middleware = strict
    app = make_app(server.base_url, server.token, template="scim-generic")
    alice, bob = make_users(2)
    for user in (alice, bob):
        app.assign(user)
    assert cycle_here(app.job).created == 2

    alice.account_enabled = False
    alice.save()
    middleware.clear()
    cycle = cycle_here(app.job)
    assert cycle.failed == 0
    assert active_values(middleware.patches()) == [False]
    assert {u["userName"]: u["active"] for u in server.users()}[alice.user_principal_name] is False

    alice.account_enabled = True
    alice.save()
    middleware.clear()
    cycle = cycle_here(app.job)
    assert cycle.failed == 0, list(ProvisioningLog.objects.filter(status="failure").values("error_reason"))
    assert active_values(middleware.patches()) == [True]
    assert {u["userName"]: u["active"] for u in server.users()}[alice.user_principal_name] is True

    middleware.clear()
    again = cycle_here(app.job, initial=True)  # every assigned user evaluated again: nothing may flap
    assert again.failed == 0 and again.updated == 0
    assert middleware.writes == [] and middleware.refused == []


@pytest.mark.django_db
def test_adopting_an_inactive_account_sends_true_once(strict, settings):
    settings.PROVISIONING_PAGE_SIZE = 20
    server, middleware = strict
    existing = ScimTarget(server.base_url, token=server.token).create(
        "User", {"userName": "user0@contoso.test", "active": False}
    )
    app = make_app(server.base_url, server.token, template="scim-generic")
    (user,) = make_users(1)
    app.assign(user)
    middleware.clear()

    cycle = cycle_here(app.job)

    assert cycle.failed == 0 and cycle.created == 0
    # (the PATCH may go twice: a strict target refuses the work email's replace, then gets an add)
    assert set(active_values(middleware.patches())) == {True} and middleware.refused == []
    assert server.users()[0]["id"] == existing.id and server.users()[0]["active"] is True
    middleware.clear()
    again = cycle_here(app.job, initial=True)
    assert again.failed == 0 and middleware.writes == []


@pytest.mark.django_db
def test_string_boolean_switch_sends_strings_on_the_wire_only(scim_server_factory, settings):
    """booleanForm=string: "False" on the wire, the escrow keeps the boolean, nothing flaps."""
    settings.PROVISIONING_PAGE_SIZE = 20
    writes: list[StrictBooleans] = []

    def wrap(app):
        writes.append(StrictBooleans(app, refuse=False))
        return writes[0]

    server = scim_server_factory(wrap=wrap)
    app = make_app(server.base_url, server.token, template="scim-generic")
    app.job.compatibility = Compatibility(boolean_form="string").changed()
    app.job.save()
    (user,) = make_users(1)
    app.assign(user)
    cycle_here(app.job)
    user.account_enabled = False
    user.save()
    assert cycle_here(app.job).failed == 0
    assert active_values(writes[0].patches()) == ["False"]
    entry = app.job.escrow.get()
    assert entry.exported["active"] is False
    user.account_enabled = True
    user.save()
    cycle_here(app.job)
    writes[0].clear()
    assert cycle_here(app.job, initial=True).updated == 0 and writes[0].patches() == []


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("boolean", "True", True),
        ("boolean", " false ", False),
        ("integer", "42", 42),
        ("decimal", "2.50", 2.5),
        ("dateTime", "2026-12-06 05:00:00", "2026-12-06T05:00:00Z"),
        ("dateTime", "2026-12-06T07:00:00+02:00", "2026-12-06T05:00:00Z"),
        ("reference", 7, "7"),
        ("string", True, "True"),
        ("complex", {"value": "x"}, {"value": "x"}),
    ],
)
def test_canonical_values(kind, value, expected):
    assert canonical("a", value, AttributeType(kind)) == expected


def test_multi_valued_entries_are_converted_one_by_one():
    assert canonical("badges", ["1", 2], AttributeType("integer", multi_valued=True)) == [1, 2]


@pytest.mark.parametrize(("kind", "value"), [("boolean", "yes"), ("integer", "4.5"), ("dateTime", "soon")])
def test_a_value_that_cant_take_the_type_is_refused_with_its_attribute(kind, value):
    with pytest.raises(ValueTypeError, match=f"'a' is a {kind} attribute"):
        canonical("a", value, AttributeType(kind))
