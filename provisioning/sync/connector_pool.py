"""Build the Target an app provisions into, one pooled connector per worker process and configuration."""

from __future__ import annotations

import threading

from django.conf import settings

from portal.crypto import unreadable_fields
from provisioning.connectors.scim.client import OAuth2ClientCredentials
from provisioning.connectors.scim.connector import ScimTarget
from provisioning.connectors.scim.errors import unauthorized
from provisioning.connectors.scim.retry import RetryPolicy
from provisioning.engine.processor import StopCycle
from provisioning.engine.target_protocol import Target
from provisioning.models import ProvisioningJob
from provisioning.sync.credentials import Credentials, oauth_client, refresh_token_store

_cache: dict[int, tuple[str, ScimTarget]] = {}
_lock = threading.Lock()


def oauth_for(job: ProvisioningJob) -> OAuth2ClientCredentials | None:
    """The job's OAuth client; an Authorize grant reads and stores its rotating refresh token in the job."""
    store, read = refresh_token_store(job.pk)
    return oauth_client(Credentials.from_job(job), on_rotate=store, latest=read)


def target_for(job: ProvisioningJob) -> Target:
    """The job's connector, reused across tasks in this process while its configuration is unchanged.

    StopCycle (quarantine) when a stored secret can't be decrypted: nothing would work without it.
    """
    if unreadable := unreadable_fields(job):
        label = "secret token" if "secret_token" in unreadable else "client secret"
        raise StopCycle(
            unauthorized(
                f"The stored {label} can't be decrypted with the configured FIELD_ENCRYPTION_KEYS. Type it "
                "again on the Provisioning page (or restore the key it was encrypted with)."
            )
        )
    key = "|".join(
        [
            Credentials.from_job(job).fingerprint(),  # the one fingerprint Test Connection records
            repr(sorted(job.compat.to_dict().items())),
            str(settings.PROVISIONING_REQUEST_TIMEOUT),
            str(settings.PROVISIONING_RETRY_BASE_DELAY),
            str(settings.PROVISIONING_USE_BULK),
            str(settings.PROVISIONING_MEMBER_BATCH_SIZE),
        ]
    )
    with _lock:
        cached = _cache.get(job.pk)
        if cached and cached[0] == key:
            return cached[1]
        if cached:
            cached[1].close()
        oauth = oauth_for(job)
        target = ScimTarget(
            job.tenant_url,
            token=None if oauth else (job.secret_token or None),
            oauth=oauth,
            compatibility=job.compat,
            use_bulk=settings.PROVISIONING_USE_BULK,
            member_batch_size=settings.PROVISIONING_MEMBER_BATCH_SIZE,
            timeout=settings.PROVISIONING_REQUEST_TIMEOUT,
            retry=RetryPolicy(
                max_attempts=settings.PROVISIONING_RETRY_ATTEMPTS,
                base_delay=settings.PROVISIONING_RETRY_BASE_DELAY,
            ),
            max_connections=settings.PROVISIONING_CONCURRENCY * 2,
        )
        _cache[job.pk] = (key, target)
        return target


def forget_target(job_id: int) -> None:
    with _lock:
        cached = _cache.pop(job_id, None)
    if cached:
        cached[1].close()
