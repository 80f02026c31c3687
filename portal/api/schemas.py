"""The API's request and response bodies, named and shaped as Microsoft Graph names and shapes them.

Field names are Graph's camelCase on purpose (scripts move between Graph and this portal unchanged).
Responses are built as dicts and validated here; operations dump them with ``exclude_unset`` so that
``$select`` can return only the chosen properties, and ``by_alias`` for ``@odata.*`` names.

Request bodies refuse unknown properties (a typo is a 400 naming it, not a silent no-op) and any text
with a NUL character, which no database column can store.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic_core import PydanticCustomError


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text can't contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


Text = Annotated[str, AfterValidator(_clean_text)]


class GraphModel(BaseModel):
    """A response body: aliases for ``@odata.*`` names, extra keys ignored."""

    model_config = ConfigDict(populate_by_name=True)


UNKNOWN_PROPERTY = "graph_unknown_property"
WRONG_TYPE = "graph_wrong_type"


def _is_annotation(key: str) -> bool:
    """An OData instance or property annotation: ``@odata.type``, ``mail@odata.type``, ``@contoso.tag``."""
    return "@" in key


class InputModel(BaseModel):
    """A request body: unknown properties are refused with Graph's message, naming them.

    OData annotations (``@odata.type`` and the like, which Microsoft's SDKs write into every body) are
    accepted as Graph accepts them: ``@odata.type`` must name the body's type (``graph_type``), the others
    are control information and ignored.
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    graph_type: ClassVar[str] = ""

    @classmethod
    def type_name(cls) -> str:
        return cls.graph_type or f"microsoft.graph.{cls.__name__[:1].lower()}{cls.__name__[1:]}"

    @model_validator(mode="before")
    @classmethod
    def _annotations(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
        kept: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str) or key in known:
                kept[key] = value
            elif key == "@odata.type":
                written = value.removeprefix("#") if isinstance(value, str) else str(value)[:100]
                if written.lower() != cls.type_name().lower():
                    raise PydanticCustomError(
                        WRONG_TYPE,
                        "A resource with type '{found}' was found, but it is not assignable to the expected "
                        "type '{expected}'. The type specified in the resource must be equal to either the "
                        "expected type or a derived type.",
                        {"found": written[:100], "expected": cls.type_name()},
                    )
            elif not _is_annotation(key):
                raise PydanticCustomError(
                    UNKNOWN_PROPERTY,
                    "The property '{name}' does not exist on type '{type}'. Make sure to only use property "
                    "names that are defined by the type or mark the type as open type.",
                    {"name": key[:100], "type": cls.type_name()},
                )
        return kept


def collection(item: type[BaseModel], name: str) -> type[GraphModel]:
    """Graph's collection envelope: ``@odata.context``, ``value`` and ``@odata.nextLink`` on all but the last page."""
    return create_model(  # type: ignore[call-overload,no-any-return]
        name,
        __base__=GraphModel,
        odata_context=(str | None, Field(None, alias="@odata.context")),
        odata_count=(int | None, Field(None, alias="@odata.count")),
        value=(list[item], Field(default_factory=list)),  # type: ignore[valid-type]
        odata_next_link=(str | None, Field(None, alias="@odata.nextLink")),
    )


# --- errors ------------------------------------------------------------------------------------------


class InnerError(GraphModel):
    date: str
    request_id: str = Field(alias="request-id")
    client_request_id: str = Field(alias="client-request-id")


class ErrorDetail(GraphModel):
    code: str
    message: str
    target: str | None = None


class ErrorBody(GraphModel):
    code: str
    message: str
    target: str | None = None
    details: list[ErrorDetail] | None = None
    innerError: InnerError


class GraphError(GraphModel):
    """Every error: ``{"error": {"code", "message", "target"?, "details"?, "innerError"}}``."""

    error: ErrorBody


ERRORS = {400: GraphError, 401: GraphError, 403: GraphError, 404: GraphError, 409: GraphError}


# --- gallery and applications ---------------------------------------------------------------------------


class ApplicationTemplate(GraphModel):
    odata_context: str | None = Field(None, alias="@odata.context")
    id: str | None = None
    displayName: str | None = None
    description: str | None = None
    publisher: str | None = None
    homePageUrl: str | None = None
    logoUrl: str | None = None
    categories: list[str] | None = None
    supportedProvisioningTypes: list[str] | None = None
    supportedSingleSignOnModes: list[str] | None = None


ApplicationTemplateCollection = collection(ApplicationTemplate, "ApplicationTemplateCollection")


class InstantiateRequest(InputModel):
    displayName: Annotated[Text, Field(min_length=1, max_length=256, examples=["Taskize Contoso"])]


class Application(GraphModel):
    id: str | None = None
    objectId: str | None = None
    appId: str | None = None
    applicationTemplateId: str | None = None
    displayName: str | None = None
    createdDateTime: datetime | None = None


class AppRole(GraphModel):
    id: str
    allowedMemberTypes: list[str]
    description: str
    displayName: str
    isEnabled: bool
    origin: str
    value: str | None = None


class ServicePrincipal(GraphModel):
    odata_context: str | None = Field(None, alias="@odata.context")
    id: str | None = None
    objectId: str | None = None
    appId: str | None = None
    appDisplayName: str | None = None
    displayName: str | None = None
    applicationTemplateId: str | None = None
    accountEnabled: bool | None = None
    appRoleAssignmentRequired: bool | None = None
    servicePrincipalNames: list[str] | None = None
    servicePrincipalType: str | None = None
    tags: list[str] | None = None
    homepage: str | None = None
    publisherName: str | None = None
    appRoles: list[AppRole] | None = None
    createdDateTime: datetime | None = None


ServicePrincipalCollection = collection(ServicePrincipal, "ServicePrincipalCollection")


class ApplicationServicePrincipal(GraphModel):
    application: Application
    servicePrincipal: ServicePrincipal


# --- synchronization ----------------------------------------------------------------------------------


class KeyValue(GraphModel):
    key: str
    value: str | None = None


class NameValue(GraphModel):
    name: str
    value: str | None = None


class SecretKeyValue(InputModel):
    """One ``synchronizationSecretKeyStringValuePair``: ``{"key": "BaseAddress", "value": "https://…"}``."""

    graph_type: ClassVar[str] = "microsoft.graph.synchronizationSecretKeyStringValuePair"

    key: Annotated[Text, Field(max_length=64, examples=["BaseAddress"])]
    value: Annotated[Text, Field(max_length=8192)] | None = None


class SecretsRequest(InputModel):
    value: Annotated[list[SecretKeyValue], Field(max_length=50)]


class ValidateCredentialsRequest(InputModel):
    useSavedCredentials: bool = False
    credentials: Annotated[list[SecretKeyValue], Field(max_length=50)] = Field(default_factory=list)
    applicationIdentifier: Annotated[Text, Field(max_length=200)] | None = None
    templateId: Annotated[Text, Field(max_length=200)] | None = None


class CreateJobRequest(InputModel):
    graph_type: ClassVar[str] = "microsoft.graph.synchronizationJob"

    templateId: Annotated[Text, Field(max_length=200, examples=["scimgeneric"])]


class RestartCriteria(InputModel):
    graph_type: ClassVar[str] = "microsoft.graph.synchronizationJobRestartCriteria"

    resetScope: (
        Annotated[Text, Field(max_length=300, examples=["Watermark, Escrows, QuarantineState"])] | None
    ) = None


class RestartRequest(InputModel):
    criteria: RestartCriteria | None = None


class OnDemandSubject(InputModel):
    graph_type: ClassVar[str] = "microsoft.graph.synchronizationJobSubject"

    objectId: Annotated[Text, Field(max_length=100)]
    objectTypeName: Annotated[Text, Field(max_length=20, examples=["User"])]


class OnDemandParameter(InputModel):
    graph_type: ClassVar[str] = "microsoft.graph.synchronizationJobApplicationParameters"

    ruleId: Annotated[Text, Field(max_length=200)] | None = None
    subjects: Annotated[list[OnDemandSubject], Field(min_length=1, max_length=5)]


class ProvisionOnDemandRequest(InputModel):
    parameters: Annotated[list[OnDemandParameter], Field(min_length=1, max_length=1)]


class Schedule(GraphModel):
    expiration: datetime | None = None
    interval: str
    state: str


class ExecutionError(GraphModel):
    code: str | None = None
    message: str | None = None
    tenantActionable: bool | None = None


class TaskExecution(GraphModel):
    activityIdentifier: str | None = None
    countEntitled: int = 0
    countEntitledForProvisioning: int = 0
    countEscrowed: int = 0
    countEscrowedRaw: int = 0
    countExported: int = 0
    countExports: int = 0
    countImported: int = 0
    countImportedDeltas: int = 0
    countImportedReferenceDeltas: int = 0
    error: ExecutionError | None = None
    state: str | None = None
    timeBegan: datetime | None = None
    timeEnded: datetime | None = None


class Progress(GraphModel):
    completedUnits: int
    progressObservationDateTime: datetime
    totalUnits: int
    units: str


class Quarantine(GraphModel):
    currentBegan: datetime | None = None
    nextAttempt: datetime | None = None
    reason: str | None = None
    seriesBegan: datetime | None = None
    seriesCount: int = 0
    error: ExecutionError | None = None


class EntryCount(GraphModel):
    key: str
    value: int


class JobStatus(GraphModel):
    code: str
    countSuccessiveCompleteFailures: int = 0
    escrowsPruned: bool = False
    lastExecution: TaskExecution | None = None
    lastSuccessfulExecution: TaskExecution | None = None
    lastSuccessfulExecutionWithExports: TaskExecution | None = None
    progress: list[Progress] = Field(default_factory=list)
    quarantine: Quarantine | None = None
    steadyStateFirstAchievedTime: datetime
    steadyStateLastAchievedTime: datetime
    synchronizedEntryCountByType: list[EntryCount] = Field(default_factory=list)
    troubleshootingUrl: str | None = None


class SynchronizationJob(GraphModel):
    odata_context: str | None = Field(None, alias="@odata.context")
    id: str
    templateId: str
    schedule: Schedule
    status: JobStatus
    synchronizationJobSettings: list[NameValue] = Field(default_factory=list)


SynchronizationJobCollection = collection(SynchronizationJob, "SynchronizationJobCollection")


# The schema: accepted back exactly as GET returns it. Graph's full schema carries many more properties
# (apiExpressions, referencedObjects…); unknown ones are ignored here so an exported schema can be PUT.
class SchemaModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class AttributeMappingSource(SchemaModel):
    """Graph's source: ``Attribute`` (name), ``Constant`` (name = the value) or ``Function`` (expression).

    Graph's nested ``parameters`` tree is not used: ``expression`` carries the whole function."""

    type: Annotated[Text, Field(max_length=20, examples=["Attribute"])] | None = None
    name: Annotated[Text, Field(max_length=4000)] | None = None
    expression: Annotated[Text, Field(max_length=4000)] | None = None


class AttributeMappingSchema(SchemaModel):
    targetAttributeName: Annotated[Text, Field(max_length=500)] | None = None
    source: AttributeMappingSource | None = None
    defaultValue: Annotated[Text, Field(max_length=4000)] | None = None
    flowType: Annotated[Text, Field(max_length=40)] | None = "Always"
    flowBehavior: Annotated[Text, Field(max_length=40)] | None = "FlowWhenChanged"
    matchingPriority: Annotated[int, Field(ge=0, le=1000)] | None = 0
    exportMissingReferences: bool | None = False


class FilterOperand(SchemaModel):
    values: list[Annotated[Text, Field(max_length=4000)]] = Field(default_factory=list)


class FilterClause(SchemaModel):
    operatorName: Annotated[Text, Field(max_length=40)] | None = None
    sourceOperandName: Annotated[Text, Field(max_length=500)] | None = None
    targetOperand: FilterOperand | None = None


class FilterGroup(SchemaModel):
    name: Annotated[Text, Field(max_length=500)] | None = None
    clauses: list[FilterClause] = Field(default_factory=list)


class ScopeFilter(SchemaModel):
    categoryFilterGroups: list[FilterGroup] = Field(default_factory=list)
    groups: list[FilterGroup] = Field(default_factory=list)
    inputFilterGroups: list[FilterGroup] = Field(default_factory=list)


class SchemaKeyValue(SchemaModel):
    key: Annotated[Text, Field(max_length=200)] | None = None  # an SDK sends null for a key it doesn't know
    value: Annotated[Text, Field(max_length=4000)] | None = None


class ObjectMappingSchema(SchemaModel):
    name: Annotated[Text, Field(max_length=200)] | None = None
    enabled: bool | None = True
    flowTypes: Annotated[Text, Field(max_length=100)] | None = "Add, Update, Delete"
    sourceObjectName: Annotated[Text, Field(max_length=20)] | None = None
    targetObjectName: Annotated[Text, Field(max_length=120)] | None = None
    scope: ScopeFilter | None = None
    metadata: list[SchemaKeyValue] = Field(default_factory=list)
    attributeMappings: list[AttributeMappingSchema] = Field(default_factory=list)


class SynchronizationRule(SchemaModel):
    id: Annotated[Text, Field(max_length=200)] | None = None
    name: Annotated[Text, Field(max_length=200)] | None = None
    editable: bool | None = True
    priority: int | None = 1
    sourceDirectoryName: Annotated[Text, Field(max_length=200)] | None = None
    targetDirectoryName: Annotated[Text, Field(max_length=200)] | None = None
    metadata: list[SchemaKeyValue] = Field(default_factory=list)
    objectMappings: list[ObjectMappingSchema] = Field(default_factory=list)


class AttributeDefinition(SchemaModel):
    name: Annotated[Text, Field(max_length=500)]
    type: Annotated[Text, Field(max_length=20)] | None = "String"
    multivalued: bool | None = False
    required: bool | None = False
    caseExact: bool | None = False
    anchor: bool | None = False


class ObjectDefinition(SchemaModel):
    name: Annotated[Text, Field(max_length=120)]
    attributes: list[AttributeDefinition] = Field(default_factory=list)
    metadata: list[SchemaKeyValue] = Field(default_factory=list)


class DirectoryDefinition(SchemaModel):
    id: Annotated[Text, Field(max_length=200)] | None = None
    name: Annotated[Text, Field(max_length=200)] | None = None
    objects: list[ObjectDefinition] = Field(default_factory=list)


class SynchronizationSchema(SchemaModel):
    odata_context: str | None = Field(None, alias="@odata.context")
    id: Annotated[Text, Field(max_length=300)] | None = None
    version: Annotated[Text, Field(max_length=100)] | None = None
    synchronizationRules: list[SynchronizationRule] = Field(default_factory=list)
    directories: list[DirectoryDefinition] = Field(default_factory=list)


class SynchronizationTemplate(GraphModel):
    id: str
    applicationId: str | None = None
    default: bool = True
    description: str | None = None
    discoverable: bool = True
    factoryTag: str
    metadata: list[KeyValue] = Field(default_factory=list)
    schema_: SynchronizationSchema = Field(alias="schema")


SynchronizationTemplateCollection = collection(SynchronizationTemplate, "SynchronizationTemplateCollection")


class OnDemandResult(GraphModel):
    """Graph's ``stringKeyStringValuePair``: ``key`` is the JSON result, ``value`` the JSON log record."""

    key: str
    value: str


# --- directory ----------------------------------------------------------------------------------------------

_EXT = {f"extensionAttribute{i}": (str | None, None) for i in range(1, 16)}
OnPremisesExtensionAttributes = create_model("OnPremisesExtensionAttributes", __base__=GraphModel, **_EXT)  # type: ignore[call-overload]
ExtensionAttributesInput = create_model(  # type: ignore[call-overload]
    "ExtensionAttributesInput",
    __base__=InputModel,
    **{name: (Annotated[Text, Field(max_length=1024)] | None, None) for name in _EXT},
)
ExtensionAttributesInput.graph_type = "microsoft.graph.onPremisesExtensionAttributes"


class User(GraphModel):
    odata_context: str | None = Field(None, alias="@odata.context")
    id: str | None = None
    displayName: str | None = None
    userPrincipalName: str | None = None
    mail: str | None = None
    mailNickname: str | None = None
    givenName: str | None = None
    surname: str | None = None
    jobTitle: str | None = None
    department: str | None = None
    companyName: str | None = None
    employeeId: str | None = None
    employeeType: str | None = None
    officeLocation: str | None = None
    streetAddress: str | None = None
    city: str | None = None
    state: str | None = None
    postalCode: str | None = None
    country: str | None = None
    usageLocation: str | None = None
    preferredLanguage: str | None = None
    mobilePhone: str | None = None
    businessPhones: list[str] | None = None
    faxNumber: str | None = None
    accountEnabled: bool | None = None
    createdDateTime: datetime | None = None
    onPremisesExtensionAttributes: OnPremisesExtensionAttributes | None = None  # type: ignore[valid-type]


UserCollection = collection(User, "UserCollection")


class UserWrite(InputModel):
    """The writable user properties. Graph's ``passwordProfile`` is accepted and ignored: portal users
    never sign in, they are provisioned."""

    graph_type: ClassVar[str] = "microsoft.graph.user"

    displayName: Annotated[Text, Field(max_length=256)] | None = None
    userPrincipalName: Annotated[Text, Field(max_length=256)] | None = None
    mail: Annotated[Text, Field(max_length=256)] | None = None
    mailNickname: Annotated[Text, Field(max_length=64)] | None = None
    givenName: Annotated[Text, Field(max_length=64)] | None = None
    surname: Annotated[Text, Field(max_length=64)] | None = None
    jobTitle: Annotated[Text, Field(max_length=128)] | None = None
    department: Annotated[Text, Field(max_length=64)] | None = None
    companyName: Annotated[Text, Field(max_length=64)] | None = None
    employeeId: Annotated[Text, Field(max_length=16)] | None = None
    employeeType: Annotated[Text, Field(max_length=64)] | None = None
    officeLocation: Annotated[Text, Field(max_length=128)] | None = None
    streetAddress: Annotated[Text, Field(max_length=1024)] | None = None
    city: Annotated[Text, Field(max_length=128)] | None = None
    state: Annotated[Text, Field(max_length=128)] | None = None
    postalCode: Annotated[Text, Field(max_length=40)] | None = None
    country: Annotated[Text, Field(max_length=128)] | None = None
    usageLocation: Annotated[Text, Field(max_length=2)] | None = None
    preferredLanguage: Annotated[Text, Field(max_length=16)] | None = None
    mobilePhone: Annotated[Text, Field(max_length=64)] | None = None
    businessPhones: Annotated[list[Annotated[Text, Field(max_length=64)]], Field(max_length=20)] | None = None
    faxNumber: Annotated[Text, Field(max_length=64)] | None = None
    accountEnabled: bool | None = None
    onPremisesExtensionAttributes: ExtensionAttributesInput | None = None  # type: ignore[valid-type]
    passwordProfile: dict[str, Any] | None = None


class UserCreate(UserWrite):
    displayName: Annotated[Text, Field(min_length=1, max_length=256, examples=["Ada Lovelace"])]
    userPrincipalName: Annotated[Text, Field(min_length=3, max_length=256, examples=["ada@contoso.com"])]


class Group(GraphModel):
    odata_context: str | None = Field(None, alias="@odata.context")
    id: str | None = None
    displayName: str | None = None
    description: str | None = None
    mailNickname: str | None = None
    mail: str | None = None
    mailEnabled: bool | None = None
    securityEnabled: bool | None = None
    groupTypes: list[str] | None = None
    createdDateTime: datetime | None = None


GroupCollection = collection(Group, "GroupCollection")


class GroupWrite(InputModel):
    graph_type: ClassVar[str] = "microsoft.graph.group"

    displayName: Annotated[Text, Field(max_length=256)] | None = None
    description: Annotated[Text, Field(max_length=1024)] | None = None
    mailNickname: Annotated[Text, Field(max_length=64)] | None = None
    mail: Annotated[Text, Field(max_length=256)] | None = None
    mailEnabled: bool | None = None
    securityEnabled: bool | None = None
    groupTypes: Annotated[list[Annotated[Text, Field(max_length=40)]], Field(max_length=0)] | None = None


class GroupCreate(GroupWrite):
    displayName: Annotated[Text, Field(min_length=1, max_length=256, examples=["Sales"])]


class ReferenceRequest(InputModel):
    """``{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}`` (or just the id)."""

    graph_type: ClassVar[str] = "microsoft.graph.referenceCreate"

    odata_id: Annotated[Text, Field(alias="@odata.id", max_length=500)]


class DirectoryObject(GraphModel):
    odata_type: str = Field(alias="@odata.type")
    id: str
    displayName: str | None = None
    userPrincipalName: str | None = None
    mail: str | None = None


DirectoryObjectCollection = collection(DirectoryObject, "DirectoryObjectCollection")


class AppRoleAssignment(GraphModel):
    odata_context: str | None = Field(None, alias="@odata.context")
    id: str | None = None
    appRoleId: str | None = None
    principalId: str | None = None
    principalType: str | None = None
    principalDisplayName: str | None = None
    resourceId: str | None = None
    resourceDisplayName: str | None = None
    creationTimestamp: datetime | None = None


AppRoleAssignmentCollection = collection(AppRoleAssignment, "AppRoleAssignmentCollection")


class AppRoleAssignmentCreate(InputModel):
    graph_type: ClassVar[str] = "microsoft.graph.appRoleAssignment"

    principalId: uuid.UUID
    resourceId: uuid.UUID
    appRoleId: uuid.UUID


# --- provisioning logs ------------------------------------------------------------------------------------


class ProvisioningSystem(GraphModel):
    id: str | None = None
    displayName: str | None = None
    details: dict[str, str] = Field(default_factory=dict)


class Initiator(GraphModel):
    id: str | None = None
    displayName: str | None = None
    initiatorType: str | None = None


class ProvisionedIdentity(GraphModel):
    id: str | None = None
    displayName: str | None = None
    identityType: str | None = None
    details: dict[str, str] = Field(default_factory=dict)


class ServicePrincipalRef(GraphModel):
    id: str | None = None
    displayName: str | None = None


class StatusInfo(GraphModel):
    odata_type: str | None = Field(None, alias="@odata.type")
    status: str | None = None
    errorCode: str | None = None
    reason: str | None = None
    additionalDetails: str | None = None
    errorCategory: str | None = None
    recommendedAction: str | None = None


class ErrorInformation(GraphModel):
    errorCode: str | None = None
    reason: str | None = None
    additionalDetails: str | None = None
    errorCategory: str | None = None
    recommendedAction: str | None = None


class ProvisioningStatusInfo(GraphModel):
    status: str | None = None
    errorInformation: ErrorInformation | None = None


class ProvisioningStep(GraphModel):
    name: str | None = None
    provisioningStepType: str | None = None
    status: str | None = None
    description: str | None = None
    details: dict[str, str] = Field(default_factory=dict)


class ModifiedProperty(GraphModel):
    displayName: str | None = None
    oldValue: str | None = None
    newValue: str | None = None


class ProvisioningObjectSummary(GraphModel):
    odata_context: str | None = Field(None, alias="@odata.context")
    id: str | None = None
    activityDateTime: datetime | None = None
    tenantId: str | None = None
    jobId: str | None = None
    cycleId: str | None = None
    changeId: str | None = None
    action: str | None = None
    provisioningAction: str | None = None
    durationInMilliseconds: int | None = None
    sourceSystem: ProvisioningSystem | None = None
    targetSystem: ProvisioningSystem | None = None
    initiatedBy: Initiator | None = None
    servicePrincipal: ServicePrincipalRef | None = None
    sourceIdentity: ProvisionedIdentity | None = None
    targetIdentity: ProvisionedIdentity | None = None
    statusInfo: StatusInfo | None = None
    provisioningStatusInfo: ProvisioningStatusInfo | None = None
    provisioningSteps: list[ProvisioningStep] | None = None
    modifiedProperties: list[ModifiedProperty] | None = None


ProvisioningObjectSummaryCollection = collection(
    ProvisioningObjectSummary, "ProvisioningObjectSummaryCollection"
)
