"""The SCIM 2.0 connector: the engine's Target spoken over scim2-client, with Entra's traffic shape.

Public API::

    from provisioning.connectors.scim import ScimTarget, ScimSettings, OAuth2ClientCredentials, test_connection

    with ScimTarget("https://app.example.com/scim/v2", token="…", timeout=10) as target:
        user = target.create("User", {"userName": "bjensen", "active": True})

Modules: ``connector`` (ScimTarget: the SCIM operations), ``session`` (sending, retrying, throttling
and recording each request), ``client`` (pooled httpx2 client, bearer/OAuth credentials),
``paths`` (attribute paths ↔ SCIM documents and PATCH operations), ``errors`` (the taxonomy and the
one mapping function), ``retry`` (the one retry policy), ``probe`` (Test Connection).
"""

from provisioning.engine.target_protocol import Capabilities, ErrorCategory, TargetError, TargetObject

from .client import OAuth2ClientCredentials, parse_tenant_url
from .connector import ScimTarget
from .errors import ErrorCode
from .probe import ConnectionTestResult, ProbeCode, test_connection
from .retry import RetryPolicy
from .session import AttemptRecord, ScimSettings

__all__ = [
    "AttemptRecord",
    "Capabilities",
    "ConnectionTestResult",
    "ErrorCategory",
    "ErrorCode",
    "OAuth2ClientCredentials",
    "ProbeCode",
    "RetryPolicy",
    "ScimSettings",
    "ScimTarget",
    "TargetError",
    "TargetObject",
    "parse_tenant_url",
    "test_connection",
]
