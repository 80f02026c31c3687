"""Seed 004's whole flow with Microsoft's own Graph beta SDK (``msgraph-beta-sdk``), models unmodified.

The SDK's ``GraphServiceClient`` talks to the live portal (its request adapter's base URL set to
``/api/beta``, a static bearer token); a real Celery worker runs the cycle against a real SCIM target.
Every body is built and read by the SDK's own models, so any property, annotation, enum or date the
portal shapes differently from Graph shows up here as an exception or a ``None``.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

import pytest
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph_beta import GraphRequestAdapter, GraphServiceClient
from msgraph_beta.generated.application_templates.application_templates_request_builder import (
    ApplicationTemplatesRequestBuilder,
)
from msgraph_beta.generated.application_templates.item.instantiate.instantiate_post_request_body import (
    InstantiatePostRequestBody,
)
from msgraph_beta.generated.audit_logs.provisioning.provisioning_request_builder import (
    ProvisioningRequestBuilder,
)
from msgraph_beta.generated.groups.groups_request_builder import GroupsRequestBuilder
from msgraph_beta.generated.models.app_role_assignment import AppRoleAssignment
from msgraph_beta.generated.models.attribute_mapping_source import AttributeMappingSource
from msgraph_beta.generated.models.attribute_mapping_source_type import AttributeMappingSourceType
from msgraph_beta.generated.models.group import Group
from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_beta.generated.models.password_profile import PasswordProfile
from msgraph_beta.generated.models.provisioning_result import ProvisioningResult
from msgraph_beta.generated.models.reference_create import ReferenceCreate
from msgraph_beta.generated.models.status_details import StatusDetails
from msgraph_beta.generated.models.synchronization_job import SynchronizationJob
from msgraph_beta.generated.models.synchronization_secret import SynchronizationSecret
from msgraph_beta.generated.models.synchronization_secret_key_string_value_pair import (
    SynchronizationSecretKeyStringValuePair,
)
from msgraph_beta.generated.models.synchronization_status_code import SynchronizationStatusCode
from msgraph_beta.generated.models.user import User
from msgraph_beta.generated.service_principals.item.synchronization.jobs.item.validate_credentials.validate_credentials_post_request_body import (
    ValidateCredentialsPostRequestBody,
)
from msgraph_beta.generated.service_principals.item.synchronization.secrets.secrets_put_request_body import (
    SecretsPutRequestBody,
)
from msgraph_beta.generated.users.count.count_request_builder import CountRequestBuilder
from msgraph_beta.generated.users.users_request_builder import UsersRequestBuilder

from portal.accounts.roles import PortalRole

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # the SDK's own (secrets, config classes)
]

NEVER_YEAR = 1  # Graph's 0001-01-01 "not yet"


class StaticToken(AccessTokenProvider):
    """The portal's personal API token, for the live server's host only."""

    def __init__(self, token: str, host: str) -> None:
        self.token = token
        self.hosts = AllowedHostsValidator([host])

    async def get_authorization_token(self, uri: str, additional_authentication_context: Any = None) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self.hosts


def graph_client(base_url: str, token: str) -> GraphServiceClient:
    host = urlparse(base_url).netloc
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticToken(token, host)))
    adapter.base_url = f"{base_url}/api/beta"
    return GraphServiceClient(request_adapter=adapter)


def with_headers(configuration: RequestConfiguration, **headers: str) -> RequestConfiguration:
    for name, value in headers.items():
        configuration.headers.add(name, value)
    return configuration


async def seed_004_flow(graph: GraphServiceClient, scim_server: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    # Step 1: the gallery template by display name, then the application from it.
    found = await graph.application_templates.get(
        RequestConfiguration(
            query_parameters=ApplicationTemplatesRequestBuilder.ApplicationTemplatesRequestBuilderGetQueryParameters(
                filter="displayName eq 'SCIM 2.0 application (non-gallery)'"
            )
        )
    )
    [template] = found.value
    assert template.supported_provisioning_types == ["sync"]
    seen["template_id"] = template.id
    read_back = await graph.application_templates.by_application_template_id(template.id).get()
    assert read_back.display_name == template.display_name
    created = await graph.application_templates.by_application_template_id(template.id).instantiate.post(
        InstantiatePostRequestBody(display_name="Contoso SCIM")
    )
    sp = created.service_principal
    assert created.application.app_id == sp.app_id
    assert sp.application_template_id == template.id
    sp_api = graph.service_principals.by_service_principal_id(sp.id)

    # Step 2: the connector template, then the job from it.
    templates = await sp_api.synchronization.templates.get()
    [sync_template] = templates.value
    assert sync_template.schema.synchronization_rules[0].object_mappings
    job = await sp_api.synchronization.jobs.post(SynchronizationJob(template_id=sync_template.id))
    assert job.status.code == SynchronizationStatusCode.NotConfigured
    job_api = sp_api.synchronization.jobs.by_synchronization_job_id(job.id)
    jobs = await sp_api.synchronization.jobs.get()
    assert [j.id for j in jobs.value] == [job.id]

    # Step 3: a wrong token is refused with Graph's error; the right one passes, then is saved.
    def credentials(token: str) -> list[SynchronizationSecretKeyStringValuePair]:
        return [
            SynchronizationSecretKeyStringValuePair(
                key=SynchronizationSecret.BaseAddress, value=scim_server.base_url
            ),
            SynchronizationSecretKeyStringValuePair(key=SynchronizationSecret.SecretToken, value=token),
        ]

    with pytest.raises(ODataError) as refused:
        await job_api.validate_credentials.post(
            ValidateCredentialsPostRequestBody(credentials=credentials("wrong"))
        )
    assert refused.value.response_status_code == 400
    assert refused.value.error.code == "InvalidCredentials"
    await job_api.validate_credentials.post(
        ValidateCredentialsPostRequestBody(credentials=credentials(scim_server.token))
    )
    await sp_api.synchronization.secrets.put(
        SecretsPutRequestBody(
            value=[
                *credentials(scim_server.token),
                SynchronizationSecretKeyStringValuePair(
                    key=SynchronizationSecret.SyncNotificationSettings,
                    value='{"Enabled": true, "Recipients": "ops@contoso.com"}',
                ),
            ]
        )
    )

    # The directory: users and a group with members, through the SDK's models.
    users: dict[str, User] = {}
    for name in ("ada", "grace", "linus", "outsider"):
        users[name] = await graph.users.post(
            User(
                display_name=name.title(),
                user_principal_name=f"{name}@contoso.com",
                given_name=name.title(),
                surname="Test",
                mail=f"{name}@contoso.com",
                mail_nickname=name,
                account_enabled=True,
                password_profile=PasswordProfile(
                    password="ignored-1A!", force_change_password_next_sign_in=False
                ),
            )
        )
    await graph.users.by_user_id(users["outsider"].id).patch(User(job_title="Contractor"))
    group = await graph.groups.post(
        Group(
            display_name="Engineering", mail_nickname="engineering", security_enabled=True, mail_enabled=False
        )
    )
    members = graph.groups.by_group_id(group.id).members
    for name in ("grace", "linus"):
        await members.ref.post(
            ReferenceCreate(odata_id=f"https://graph.microsoft.com/beta/directoryObjects/{users[name].id}")
        )
    with pytest.raises(ODataError) as twice:
        await members.ref.post(
            ReferenceCreate(odata_id=f"https://graph.microsoft.com/beta/directoryObjects/{users['grace'].id}")
        )
    assert twice.value.response_status_code == 400
    assert twice.value.error.message == (
        "One or more added object references already exist for the following modified properties: 'members'."
    )
    listed = await members.get()
    assert sorted(m.id for m in listed.value) == sorted([users["grace"].id, users["linus"].id])
    assert {type(m).__name__ for m in listed.value} == {"User"}

    # Assignments.
    sp_full = await sp_api.get()
    role = next(r.id for r in sp_full.app_roles if r.display_name == "User")
    for principal in (users["ada"].id, group.id):
        assignment = await sp_api.app_role_assigned_to.post(
            AppRoleAssignment(principal_id=principal, resource_id=sp.id, app_role_id=role)
        )
        assert assignment.creation_timestamp is not None
        assert assignment.principal_type in ("User", "Group")
    assigned = await sp_api.app_role_assigned_to.get()
    assert {str(a.principal_id) for a in assigned.value} == {str(users["ada"].id), str(group.id)}
    assert all(a.creation_timestamp is not None for a in assigned.value)

    # The directory read the way Graph's advanced queries read it.
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters
    counted = await graph.users.get(
        with_headers(
            RequestConfiguration(
                query_parameters=query(
                    count=True,
                    filter="surname eq 'Test' and accountEnabled eq true",
                    orderby=["displayName desc"],
                    select=["id", "displayName", "mail"],
                )
            ),
            ConsistencyLevel="eventual",
        )
    )
    assert [u.display_name for u in counted.value] == ["Outsider", "Linus", "Grace", "Ada"]
    assert counted.odata_count == 4
    assert counted.value[0].user_principal_name is None  # not selected
    total = await graph.users.count.get(
        with_headers(
            RequestConfiguration(
                query_parameters=CountRequestBuilder.CountRequestBuilderGetQueryParameters(
                    filter="jobTitle eq 'Contractor'"
                )
            ),
            ConsistencyLevel="eventual",
        )
    )
    assert total == 1
    assert (
        await graph.groups.count.get(with_headers(RequestConfiguration(), ConsistencyLevel="eventual")) == 1
    )
    ordered = await graph.groups.get(
        RequestConfiguration(
            query_parameters=GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(
                orderby=["displayName"], select=["id", "displayName"]
            )
        )
    )
    assert [g.display_name for g in ordered.value] == ["Engineering"]

    # The mappings: GET the schema, PATCH exactly what was read.
    schema = await job_api.schema.get()
    user_mapping = next(
        m for m in schema.synchronization_rules[0].object_mappings if m.source_object_name == "User"
    )
    before = len(user_mapping.attribute_mappings)
    await job_api.schema.patch(schema)
    again = await job_api.schema.get()
    assert again.version == schema.version  # nothing changed: the round trip is faithful
    user_again = next(
        m for m in again.synchronization_rules[0].object_mappings if m.source_object_name == "User"
    )
    assert len(user_again.attribute_mappings) == before
    assert user_again.enabled is True
    # An edit made on the SDK's models: every user's title becomes a constant.
    title = next(a for a in user_again.attribute_mappings if a.target_attribute_name == "title")
    title.source = AttributeMappingSource(type=AttributeMappingSourceType.Constant, name="Engineer")
    await job_api.schema.patch(again)
    edited = await job_api.schema.get()
    assert edited.version != schema.version
    user_edited = next(
        m for m in edited.synchronization_rules[0].object_mappings if m.source_object_name == "User"
    )
    title = next(a for a in user_edited.attribute_mappings if a.target_attribute_name == "title")
    assert (title.source.type, title.source.name) == (AttributeMappingSourceType.Constant, "Engineer")

    # Step 4: start. Step 5: poll the job until provisioned.
    await job_api.start.post()
    deadline = time.monotonic() + 240  # a liveness bound on a shared machine, not a speed check
    while True:
        job = await job_api.get()
        status = job.status
        assert status.code != SynchronizationStatusCode.Quarantine
        if (
            status.last_successful_execution is not None
            and not status.progress
            and status.steady_state_last_achieved_time.year != NEVER_YEAR
        ):
            break
        assert time.monotonic() < deadline, f"no steady state in time: {status}"
        await asyncio.sleep(0.2)
    assert status.code == SynchronizationStatusCode.Active
    counts = {c.key: c.value for c in status.synchronized_entry_count_by_type}
    assert counts == {"User": 3, "Group": 1}
    assert status.last_successful_execution.count_exported == 4

    # The provisioning logs, two at a time through @odata.nextLink.
    page = await graph.audit_logs.provisioning.get(
        RequestConfiguration(
            query_parameters=ProvisioningRequestBuilder.ProvisioningRequestBuilderGetQueryParameters(
                filter=f"jobId eq '{job.id}' and provisioningAction eq 'create'", top=2
            )
        )
    )
    entries = list(page.value)
    pages = 1
    while page.odata_next_link:
        page = await graph.audit_logs.provisioning.with_url(page.odata_next_link).get()
        entries.extend(page.value)
        pages += 1
    assert pages == 2
    assert {e.source_identity.display_name for e in entries} == {"Ada", "Grace", "Linus", "Engineering"}
    entry = next(e for e in entries if e.source_identity.display_name == "Ada")
    assert entry.status_info.status == ProvisioningResult.Success
    assert not isinstance(entry.status_info, StatusDetails)
    assert entry.service_principal.id == sp.id
    one = await graph.audit_logs.provisioning.by_provisioning_object_summary_id(entry.id).get()
    assert one.id == entry.id and one.change_id == entry.change_id
    seen["log_id"] = entry.id
    return seen


def test_seed_004_flow_with_the_graph_sdk(live_server, make_token, scim_server, celery_worker):
    token = make_token(PortalRole.GLOBAL_ADMINISTRATOR)
    graph = graph_client(live_server.url, token)

    # Its own thread: an earlier browser test may have left Playwright's event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        seen = pool.submit(asyncio.run, seed_004_flow(graph, scim_server)).result()

    import uuid

    assert uuid.UUID(seen["template_id"]).version in (4, 5)
    assert uuid.UUID(seen["log_id"]).version == 4
    assert sorted(u["userName"] for u in scim_server.users()) == [
        "ada@contoso.com",
        "grace@contoso.com",
        "linus@contoso.com",
    ]
    assert [g["displayName"] for g in scim_server.groups()] == ["Engineering"]
    assert {u.get("title") for u in scim_server.users()} == {"Engineer"}  # the schema PATCH took effect
