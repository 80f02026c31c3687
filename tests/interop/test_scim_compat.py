"""``manage.py scim_compat URL --token …`` against real servers: the switches it reports are the ones the
interoperability suite needed (none for scim2-server, memberRemoval=valueList for django-scim2)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.interop


def compat(*args: str) -> str:
    out = StringIO()
    call_command("scim_compat", *args, stdout=out)
    return out.getvalue()


def test_scim2_server_needs_no_switch_and_probe_objects_are_deleted(scim_server):
    text = compat(scim_server.base_url, f"--token={scim_server.token}")
    assert "Test Connection: connected" in text
    assert "patch           yes" in text and "bulk            yes (max 1000 operations)" in text
    assert "No switch needed" in text
    assert scim_server.token not in text
    assert scim_server.users() == [] and scim_server.groups() == []  # the probe cleaned up


def test_django_scim2_needs_value_list_member_removal(django_scim2_target):
    target = django_scim2_target
    report = json.loads(compat(target.base_url, f"--token={target.token}", "--json"))
    assert report["connected"] and report["probed"]
    assert report["needs"] == {"memberRemoval": "valueList"}, report["switches"]
    assert "refused" in report["switches"]["memberRemoval"]["evidence"]
    users, groups = target.state()
    assert users == [] and groups == []


def test_a_wrong_token_fails_with_the_connection_verdict(scim_server):
    out = StringIO()
    with pytest.raises(CommandError, match="invalid_token"):
        call_command("scim_compat", scim_server.base_url, "--token", "wrong", stdout=out)
    assert "Test Connection: invalid_token" in out.getvalue()


def test_read_only_creates_nothing(scim_server):
    text = compat(scim_server.base_url, f"--token={scim_server.token}", "--read-only")
    assert "Switches: not probed (--read-only)." in text
    assert scim_server.users() == []
