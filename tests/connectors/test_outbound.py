"""The outbound destination policy (issue 15, point 2), over real sockets.

A recording listener on loopback stands for an internal service: under a policy that does not allow
loopback, no connection ever reaches it — through the SCIM client, an OAuth token fetch and Test
Connection — and a refused address gets one message whatever listens there.
"""

from __future__ import annotations

import socket

import httpx2
import pytest

from provisioning.connectors import outbound
from provisioning.connectors.outbound import NOT_ALLOWED_MESSAGE, OutboundPolicy
from provisioning.connectors.scim.client import OAuth2ClientCredentials, build_http_client
from provisioning.connectors.scim.connector import ScimTarget
from provisioning.connectors.scim.errors import classify
from provisioning.connectors.scim.probe import test_connection
from provisioning.engine.target_protocol import TargetError
from tests.fixtures.listener import start_listener

STRICT = OutboundPolicy()  # production default: nothing but global addresses
LOOPBACK_ONE = OutboundPolicy.from_cidrs(["127.0.0.1/32"])


@pytest.fixture
def policy():
    """Set the process-wide policy for one test, then restore the one Django configured."""
    before = outbound.current_policy()
    yield outbound.configure
    outbound.configure(before)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT (shared) space
        ("fd12:3456::1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("169.254.169.254", False),
        ("169.254.1.1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),
        ("100.100.100.200", False),
        ("::ffff:169.254.169.254", False),
        ("::ffff:127.0.0.1", False),
    ],
)
def test_default_policy(address, allowed):
    assert STRICT.permits(address) is allowed


def test_allow_opens_a_private_range_but_never_link_local_or_metadata():
    policy = OutboundPolicy.from_cidrs(["0.0.0.0/0", "::/0"], deny=["10.9.0.0/16"])

    assert policy.permits("127.0.0.1") and policy.permits("10.1.2.3") and policy.permits("::1")
    assert not policy.permits("10.9.8.7")  # deny wins over allow
    for metadata in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "fe80::1", "169.254.0.1"):
        assert not policy.permits(metadata), metadata


def test_a_malformed_entry_is_named():
    with pytest.raises(
        ValueError, match=r"PROVISIONING_OUTBOUND_DENY: '10\.0\.0\.0/33' is not an IP address"
    ):
        OutboundPolicy.from_cidrs(["127.0.0.1"], deny=["10.0.0.0/33"])


def test_the_scim_client_never_connects_to_a_refused_address(listener, policy):
    policy(STRICT)
    client = build_http_client(listener.url, auth=None, timeout=5, max_connections=1)

    with pytest.raises(httpx2.ConnectError) as caught:
        client.get("/Users")

    error = classify(caught.value, method="GET")
    assert (error.code, error.reason) == ("DestinationNotAllowed", f"Not connected: {NOT_ALLOWED_MESSAGE}.")
    assert not error.retryable
    assert listener.connections == 0


def test_a_provisioning_cycle_target_never_connects_to_a_refused_address(listener, policy):
    """The engine's connector (what cycles use): the refusal stops the run, it is not retried."""
    policy(STRICT)

    with ScimTarget(listener.url, token="t0ken-for-the-test") as target, pytest.raises(TargetError) as caught:
        target.find("User", "userName", "a")

    assert caught.value.code == "DestinationNotAllowed" and caught.value.category == "unauthorized"
    assert listener.connections == 0


def test_an_allowed_address_is_reached(listener, policy):
    policy(LOOPBACK_ONE)
    client = build_http_client(listener.url, auth=None, timeout=5, max_connections=1)

    assert client.get("/Users").status_code == 401
    assert listener.connections == 1 and listener.requests[0].path == "/Users"


def test_a_name_is_checked_by_the_address_it_resolves_to(listener, policy):
    """``localhost`` is a name, not an IP: the URL passes validation, the resolved 127.0.0.1 does not."""
    policy(STRICT)

    result = test_connection(f"http://localhost:{listener.port}/scim", token="t0ken-for-the-test")

    assert (result.ok, result.code) == (False, "destination_not_allowed")
    assert listener.connections == 0


def test_a_name_that_later_resolves_elsewhere_is_refused(policy, monkeypatch):
    """DNS rebinding: the same name first resolves to an allowed address, then to a refused one."""
    first, first_server = start_listener("127.0.0.1")
    try:
        second, second_server = start_listener("127.0.0.2", first.port)
    except OSError:
        first_server.shutdown()
        pytest.skip("127.0.0.2 is not a loopback address here")
    policy(LOOPBACK_ONE)
    answers = iter(["127.0.0.1", "127.0.0.2"])
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "scim.rebind.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"http://scim.rebind.test:{first.port}/scim"
    try:
        before = test_connection(url, token="t0ken-for-the-test")
        after = test_connection(url, token="t0ken-for-the-test")
    finally:
        for server in (first_server, second_server):
            server.shutdown()
            server.server_close()

    assert before.code == "invalid_token" and first.connections == 1  # reached, the listener said 401
    assert after.code == "destination_not_allowed" and second.connections == 0


def test_a_refused_range_gives_no_probing_detail(listener, policy):
    """A listening port and a closed one answer the same: nothing tells them apart."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    policy(STRICT)

    listening = test_connection(listener.url, token="t0ken-for-the-test")
    not_listening = test_connection(f"http://127.0.0.1:{closed_port}", token="t0ken-for-the-test")

    assert (listening.code, listening.message) == (not_listening.code, not_listening.message)
    assert listening.message == f"Not connected: {NOT_ALLOWED_MESSAGE}."
    assert listener.connections == 0


def test_an_oauth_token_fetch_to_a_refused_address_sends_nothing(listener, policy):
    policy(STRICT)
    oauth = OAuth2ClientCredentials(
        token_url=f"{listener.url}/token", client_id="c", client_secret="s3cret-value"
    )

    with pytest.raises(TargetError) as caught:
        oauth.token()

    assert caught.value.code == "DestinationNotAllowed"
    assert listener.connections == 0
    result = test_connection("https://scim.example.invalid/scim", oauth=oauth)
    assert result.code == "destination_not_allowed" and listener.connections == 0
