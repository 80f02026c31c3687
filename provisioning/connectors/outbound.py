"""Where the portal may connect: the outbound destination policy, checked on the resolved address.

Every outbound HTTP connection of provisioning (SCIM requests, OAuth token fetches, Test Connection) goes
through :func:`policy_transport`, whose network backend resolves the host itself and connects only to
addresses the policy permits. Checking at connect time, not when the URL is saved, means a DNS name that
resolves to a public address today and to ``169.254.169.254`` tomorrow is refused tomorrow.

The policy, in order:

1. link-local (``169.254.0.0/16``, ``fe80::/10``) and cloud metadata addresses are always refused;
2. ``deny`` CIDRs are refused;
3. ``allow`` CIDRs are permitted (how loopback or a private range is opened, e.g. for the demo target);
4. anything else that is not a global unicast address (loopback, private, shared, reserved, multicast,
   unspecified) is refused; global addresses are permitted.

A refusal is one exception, :class:`DestinationNotAllowed`, with one message whatever the address, and it
is raised before any packet is sent: no "refused" versus "timed out" to map an internal network with.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpcore2
import httpx2

__all__ = [
    "ALWAYS_REFUSED",
    "NOT_ALLOWED_MESSAGE",
    "DestinationNotAllowed",
    "OutboundPolicy",
    "PolicyBackend",
    "configure",
    "current_policy",
    "is_refusal",
    "policy_transport",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NOT_ALLOWED_MESSAGE = "destination not allowed by the outbound policy"
ALWAYS_REFUSED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "169.254.0.0/16",  # IPv4 link-local, including the AWS/GCP/Azure metadata 169.254.169.254
        "fe80::/10",  # IPv6 link-local
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "100.100.100.200/32",  # Alibaba Cloud metadata
    )
)


class DestinationNotAllowed(httpcore2.ConnectError):
    """The resolved address of a destination is refused by the outbound policy (nothing was sent)."""

    def __init__(self) -> None:
        super().__init__(NOT_ALLOWED_MESSAGE)


def is_refusal(exc: BaseException | None) -> bool:
    """Whether ``exc`` or anything in its cause/context chain is a policy refusal."""
    return in_chain(exc, (DestinationNotAllowed,))


def in_chain(exc: BaseException | None, kinds: tuple[type[BaseException], ...], *, depth: int = 12) -> bool:
    """Whether ``exc`` or one of the next ``depth - 1`` causes (or contexts) in its chain is of ``kinds``:
    HTTP clients wrap the error that says what happened in their own."""
    seen = 0
    while exc is not None and seen < depth:
        if isinstance(exc, kinds):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _networks(cidrs: Iterable[str], setting: str) -> tuple[IPNetwork, ...]:
    networks = []
    for cidr in cidrs:
        text = cidr.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(
                f"{setting}: '{text}' is not an IP address or CIDR range (e.g. 10.0.0.0/8, 127.0.0.1, ::1/128)."
            ) from None
    return tuple(networks)


@dataclass(frozen=True)
class OutboundPolicy:
    """Allowed and denied CIDR ranges on top of the fixed rules in the module docstring."""

    allow: tuple[IPNetwork, ...] = ()
    deny: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_cidrs(cls, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> OutboundPolicy:
        """Parse the settings; ValueError naming the setting and the entry that is not a CIDR."""
        return cls(
            _networks(allow, "PROVISIONING_OUTBOUND_ALLOW"), _networks(deny, "PROVISIONING_OUTBOUND_DENY")
        )

    def permits(self, address: str | IPAddress) -> bool:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if isinstance(ip, ipaddress.IPv6Address):
            ip = ip.ipv4_mapped or ip  # ::ffff:169.254.169.254 is 169.254.169.254
            if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
                return False  # a zone index only makes sense on a link-local address
        if ip.is_link_local or any(ip in net for net in ALWAYS_REFUSED):
            return False
        if any(ip in net for net in self.deny):
            return False
        if any(ip in net for net in self.allow):
            return True
        return ip.is_global and not ip.is_multicast


_lock = threading.Lock()
_current = OutboundPolicy()  # the safe default until the application configures one


def configure(policy: OutboundPolicy) -> None:
    """Make ``policy`` the one every new connection checks (set from Django settings at start-up)."""
    global _current
    with _lock:
        _current = policy


def current_policy() -> OutboundPolicy:
    return _current


Resolver = Callable[..., list[tuple[Any, ...]]]


class PolicyBackend(httpcore2.SyncBackend):
    """httpcore's socket backend that resolves the host itself and connects only to permitted addresses.

    ``policy=None`` reads the configured policy at each connection; ``resolve`` defaults to
    ``socket.getaddrinfo`` (looked up at call time).
    """

    def __init__(self, policy: OutboundPolicy | None = None, resolve: Resolver | None = None) -> None:
        self._policy = policy
        self._resolve = resolve

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        policy = self._policy or current_policy()
        resolve = self._resolve or socket.getaddrinfo
        try:
            infos = resolve(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:  # socket.gaierror: the name does not resolve
            raise httpcore2.ConnectError(str(exc)) from exc
        addresses: list[str] = []
        for info in infos:
            address = str(info[4][0])
            if address not in addresses:
                addresses.append(address)
        permitted = [a for a in addresses if policy.permits(a)]
        if not permitted:
            raise DestinationNotAllowed()
        last: BaseException | None = None
        for address in permitted:  # connect to the checked address itself, never resolve again
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last


def policy_transport(
    *,
    verify: Any = True,
    limits: httpx2.Limits | None = None,
    policy: OutboundPolicy | None = None,
    resolve: Resolver | None = None,
) -> httpx2.HTTPTransport:
    """An httpx2 transport whose every new connection is checked by :class:`PolicyBackend`.

    Environment proxies (HTTP_PROXY...) are not used: the policy must see the real destination, and a
    client given a transport ignores them.
    """
    transport = httpx2.HTTPTransport(
        verify=verify,
        limits=limits or httpx2.Limits(max_connections=100, max_keepalive_connections=20),
        trust_env=True,  # the TLS trust store settings (SSL_CERT_FILE...) still apply
    )
    pool = transport._pool  # httpx2 builds the pool; its backend is httpcore's documented extension point
    if not hasattr(pool, "_network_backend"):  # pragma: no cover - a change in httpcore2 must fail loudly
        raise RuntimeError("httpcore2's connection pool no longer has a network backend to replace")
    pool._network_backend = PolicyBackend(policy, resolve)
    return transport
