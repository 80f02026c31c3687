"""``ScimTarget``: the engine's :class:`~provisioning.engine.target_protocol.Target` spoken as SCIM 2.0.

Every request goes through :meth:`ScimSession._call` (``session.py``: retries, error mapping,
``Retry-After`` for every thread of the target, per-attempt records); this module builds the SCIM
operations the engine asks for on it.

The traffic is what Entra sends (see docs in ``paths.py``): ``GET /Users?filter=userName eq "…"``,
``GET /Groups?excludedAttributes=members&filter=displayName eq "…"``, ``POST`` without members,
``PATCH`` with only the changed paths, ``PATCH active``, member adds/removes batched, ``DELETE``.
Bulk is used for creates only when the target advertises it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import httpx2
from pydantic import ValidationError
from scim2_client import SCIMClientException
from scim2_models import (
    BulkOperation,
    BulkRequest,
    Context,
    PatchOp,
    Schema,
    SCIMException,
    SearchRequest,
    ServiceProviderConfig,
)

from provisioning.engine.attribute_types import AttributeType
from provisioning.engine.target_protocol import (
    Capabilities,
    ErrorCategory,
    ObjectType,
    TargetError,
    TargetObject,
    redact_secrets,
)

from .errors import ErrorCode, error_for_status, local_error, make_error
from .paths import (
    LENIENT_POLICY,
    build_resource,
    escape_filter_value,
    filter_expression,
    flatten,
    is_case_exact,
    parse_path,
    patch_operations,
    rewrite_missing_entries,
    schema_types,
    type_of,
    value_at,
    wire_operation,
)
from .session import ScimSession

__all__ = ["ScimTarget"]

T = TypeVar("T")

_CONTROL = re.compile(r"[\x00-\x1f]")  # not allowed unescaped in a filter's string literal (RFC 8259)
MAX_SEARCH_PAGES = 100  # pages of one search (Entra's matching needs one; a loop of pages is a target bug)


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    size = max(1, size)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unique(values: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(values))


class ScimTarget(ScimSession):
    """A SCIM 2.0 application, one pooled connection set per instance; safe to share between threads.

    ``ScimTarget(url, token=...)`` or ``ScimTarget(url, oauth=OAuth2ClientCredentials(...))``; settings
    come as a :class:`ScimSettings` and/or keyword overrides (``ScimTarget(url, token=t, timeout=5)``).
    ``transport`` swaps the network (e.g. ``httpx2.WSGITransport`` for in-process tests).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._checked_attributes: set[str] = set()  # matching attributes whose filter form was parsed once

    # -- Target protocol ----------------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        """``/ServiceProviderConfig``, read once. Unreadable → Entra's assumptions (filter + PATCH, no Bulk)."""
        if self._capabilities is not None:
            return self._capabilities
        with self._lock:
            if self._capabilities is not None:
                return self._capabilities
        try:
            config, _ = self._call(
                "discover",
                "GET",
                "/ServiceProviderConfig",
                lambda: self._scim.query(ServiceProviderConfig),
                on_resource=False,
            )
        except TargetError as error:
            if error.category in (ErrorCategory.UNAUTHORIZED, ErrorCategory.TRANSIENT):
                raise
            capabilities = Capabilities()
        else:
            capabilities = self._parse_capabilities(config)
        with self._lock:
            self._capabilities = capabilities
        return capabilities

    def attribute_type(self, object_type: ObjectType, path: str) -> AttributeType | None:
        """The type the target's ``/Schemas`` gives a target attribute path (None: not declared there).

        Read once per target. A target without ``/Schemas`` declares nothing (the app's attribute list
        then decides); after a network failure the list decides for five minutes, then it is asked again.
        """
        with self._lock:
            types, until = self._schema_types
        if until is not None and self.settings.clock() >= until:
            types = None
        if types is None:
            until = None
            try:
                answer, _ = self._call(
                    "discover", "GET", "/Schemas", lambda: self._scim.query(Schema), on_resource=False
                )
            except TargetError as error:
                answer = None
                if error.category in (ErrorCategory.UNAUTHORIZED, ErrorCategory.TRANSIENT):
                    until = self.settings.clock() + 300
            types = schema_types(self._returned(answer) if answer is not None else None)
            with self._lock:
                self._schema_types = (types, until)
        return type_of(types, object_type, path)

    @staticmethod
    def _parse_capabilities(config: Any) -> Capabilities:
        if isinstance(config, ServiceProviderConfig):
            data = config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        elif isinstance(config, dict):
            data = config
        else:
            return Capabilities()

        def section(name: str) -> dict[str, Any]:
            value = data.get(name)
            return value if isinstance(value, dict) else {}

        def supported(name: str, default: bool) -> bool:
            value = section(name).get("supported")
            return default if value is None else str(value).lower() == "true"

        def number(name: str, key: str) -> int | None:
            try:
                value = section(name).get(key)
                return int(value) if value is not None else None
            except (TypeError, ValueError):
                return None

        schemes = tuple(
            str(s.get("type") or s.get("name"))
            for s in data.get("authenticationSchemes") or []
            if isinstance(s, dict) and (s.get("type") or s.get("name"))
        )
        return Capabilities(
            patch=supported("patch", True),
            bulk=supported("bulk", False),
            bulk_max_operations=number("bulk", "maxOperations"),
            bulk_max_payload_size=number("bulk", "maxPayloadSize"),
            filter=supported("filter", True),
            filter_max_results=number("filter", "maxResults"),
            etag=supported("etag", False),
            sort=supported("sort", False),
            change_password=supported("changePassword", False),
            authentication_schemes=schemes,
            discovered=True,
        )

    def _search(
        self, object_type: ObjectType, expression: str, operation: str, *, checked: bool = False
    ) -> tuple[list[dict[str, Any]], int]:
        """All resources matching a filter (following startIndex paging), and the retries it took.

        ``checked``: the filter's grammar is known to be valid (:meth:`_literals_only`), so the
        SearchRequest is built without scim2-models parsing it again.
        """
        model = self._model(object_type)
        found: list[dict[str, Any]] = []
        retries = 0
        start = 1
        total: Any = None
        for _ in range(MAX_SEARCH_PAGES):  # a target that never stops paging is cut off, not followed forever
            parameters: dict[str, Any] = {"filter": expression}
            if object_type == "Group":
                parameters["excluded_attributes"] = ["members"]
            if start > 1:
                parameters["start_index"] = start
            search = SearchRequest.model_construct(**parameters) if checked else SearchRequest(**parameters)
            response, attempt_retries = self._call(
                operation,
                "GET",
                f"{self._endpoint(object_type)}?filter=…",
                lambda search=search: self._scim.query(model, query_parameters=search),
                on_resource=False,
            )
            retries += attempt_retries
            response = self._returned(response)
            if isinstance(response, dict):
                if not any(key in response for key in ("Resources", "resources", "totalResults")):
                    # Reading this as "no match" would make the engine create duplicates.
                    raise make_error(
                        ErrorCode.SERVICE_INCOMPATIBLE,
                        "The application answered the query with something that is not a ListResponse.",
                        http_status=200,
                        operation=operation,
                    )
                resources = response.get("Resources") or response.get("resources") or []
                total = response.get("totalResults")
            else:
                resources = response.resources or []
                total = response.total_results
            found.extend(self._document(r) for r in resources)
            if not resources or total is None or len(found) >= int(total):
                return found, retries
            start += len(resources)
        # Matching on a partial result would create duplicates of the objects on the pages not read.
        raise make_error(
            ErrorCode.SERVICE_INCOMPATIBLE,
            f"The application's answer to the search was still not complete after {MAX_SEARCH_PAGES} pages "
            f"({len(found)} of the {total} results it announced); the search was stopped and nothing was "
            "matched. The application may ignore startIndex, or announce a wrong totalResults.",
            operation=operation,
            request={
                "operation": operation,
                "method": "GET",
                "path": f"{self._endpoint(object_type)}?filter=…",
            },
        )

    def _literals_only(self, attribute: str, values: list[str]) -> bool:
        """True when a matching filter on ``attribute`` for ``values`` needs no parsing to be trusted.

        scim2-models parses every filter it is given (a grammar parser: 2 ms for the 20 terms of an
        ``eqOr`` query, a tenth of the CPU per user). The terms of a matching query differ only in
        their string literals, which :func:`filter_expression` escapes; so the one-term filter of the
        attribute is parsed once (it raises as the full query would), and a query whose values hold no
        character a literal cannot carry unescaped (control characters) is then built unparsed.
        """
        if any(_CONTROL.search(value) for value in values):
            return False
        if attribute not in self._checked_attributes:
            SearchRequest(filter=filter_expression(attribute, "x"))
            self._checked_attributes.add(attribute)
        return True

    def _matches(
        self, object_type: ObjectType, attribute: str, wanted: str, document: dict[str, Any]
    ) -> bool:
        """Guard against targets that ignore the filter and return everything."""
        value = value_at(flatten(object_type, document), attribute)
        if value is None:
            # Not readable back (write-only, or returned in a shape we cannot flatten): trust the filter.
            return True
        if is_case_exact(object_type, attribute):
            return str(value) == wanted
        return str(value).casefold() == wanted.casefold()

    def find(self, object_type: ObjectType, attribute: str, value: str) -> TargetObject | None:
        """Entra's matching query: ``GET /Users?filter=<attribute> eq "<value>"``."""
        try:
            expression = filter_expression(attribute, value)
        except ValueError as exc:
            raise make_error(ErrorCode.SCHEMA_ATTRIBUTE_NOT_FOUND, str(exc)) from exc
        documents, retries = self._search(
            object_type, expression, f"match {object_type}", checked=self._literals_only(attribute, [value])
        )
        documents = [d for d in documents if d.get("id")]
        matches = [d for d in documents if self._matches(object_type, attribute, value, d)]
        if len(matches) > 1:
            raise make_error(
                ErrorCode.DUPLICATE_TARGET_ENTRIES,
                f"{len(matches)} objects in the application have {attribute} equal to the value searched.",
                operation=f"match {object_type}",
            )
        if not matches:
            return None
        return TargetObject(str(matches[0]["id"]), flatten(object_type, matches[0]), retry_count=retries)

    def find_many(
        self, object_type: ObjectType, attribute: str, values: list[str]
    ) -> dict[str, TargetObject]:
        """Batched matching with ``or`` filters; values matched by several objects are left out (the
        engine then finds the duplicates when it matches that object alone)."""
        wanted = _unique(v for v in values if v is not None)
        if not wanted:
            return {}
        capabilities = self.capabilities()
        if not capabilities.filter:
            found = {value: self.find(object_type, attribute, value) for value in wanted}
            return {value: obj for value, obj in found.items() if obj is not None}
        try:
            filter_expression(attribute, "x")
        except ValueError as exc:
            raise make_error(ErrorCode.SCHEMA_ATTRIBUTE_NOT_FOUND, str(exc)) from exc
        exact = is_case_exact(object_type, attribute)

        def key(value: Any) -> str:
            return str(value) if exact else str(value).casefold()

        # matchingOperators=eq: one `attr eq "v"` per query, as Entra sends; eqOr joins values with `or`.
        size = self.settings.find_batch_size if self.compat.or_matching else 1
        if capabilities.filter_max_results:
            size = min(size, capabilities.filter_max_results)
        result: dict[str, TargetObject] = {}
        for batch in _chunks(wanted, size):
            expression = " or ".join(filter_expression(attribute, value) for value in batch)
            by_key: dict[str, list[dict[str, Any]]] = {}
            documents, retries = self._search(
                object_type, expression, f"match {object_type}", checked=self._literals_only(attribute, batch)
            )
            for document in documents:
                value = value_at(flatten(object_type, document), attribute)
                if value is not None and document.get("id"):
                    by_key.setdefault(key(value), []).append(document)
            for value in batch:
                matched = by_key.get(key(value), [])
                if len(matched) == 1:
                    result[value] = TargetObject(
                        str(matched[0]["id"]), flatten(object_type, matched[0]), retry_count=retries
                    )
        return result

    def get(self, object_type: ObjectType, target_id: str) -> TargetObject:
        """``GET /Users/{id}`` or ``/Groups/{id}``: the object as the target stores it."""
        current, retries = self._call(
            f"read {object_type}",
            "GET",
            f"{self._endpoint(object_type)}/{target_id}",
            lambda: self._scim.query(self._model(object_type), target_id),
            on_resource=True,
        )
        document = self._document(self._returned(current))
        return TargetObject(target_id, flatten(object_type, document), retry_count=retries)

    def create(self, object_type: ObjectType, values: dict[str, Any]) -> TargetObject:
        """``POST /Users`` or ``/Groups`` (groups without members). Never retried once possibly applied."""
        operation = f"create {object_type}"
        try:
            resource = build_resource(object_type, values)
        except (ValidationError, ValueError) as exc:
            raise local_error(exc, operation) from exc
        created, retries = self._call(
            operation,
            "POST",
            self._endpoint(object_type),
            lambda: self._scim.create(resource),
            on_resource=False,
        )
        document = self._document(self._returned(created)) if created is not None else {}
        if not document.get("id"):
            raise make_error(
                ErrorCode.SERVICE_INCOMPATIBLE,
                "The application accepted the create but returned no id.",
                outcome_unknown=True,
                operation=operation,
            )
        return TargetObject(str(document["id"]), flatten(object_type, document), retry_count=retries)

    def _patch(
        self,
        object_type: ObjectType,
        target_id: str,
        operations: list[dict[str, Any]],
        operation: str,
        *,
        accept_after_unknown: Callable[[TargetError], bool] | None = None,
    ) -> int:
        model = self._model(object_type)
        body: Any
        if self.compat.byte_exact:
            # Byte-exact forms asked for by a switch ("Replace", "False", remove with a value list):
            # scim2-models would normalise them, so they go through scim2-client unvalidated.
            body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}
        else:
            try:
                body = PatchOp[model].model_validate({"Operations": operations}, scim_policy=LENIENT_POLICY)
            except ValidationError as exc:
                raise local_error(exc, operation) from exc
        _, retries = self._call(
            operation,
            "PATCH",
            f"{self._endpoint(object_type)}/{target_id}",
            lambda: self._scim.modify(
                model, target_id, body, check_request_payload=not self.compat.byte_exact
            ),
            on_resource=True,
            accept_after_unknown=accept_after_unknown,
        )
        return retries

    def update(self, object_type: ObjectType, target_id: str, changes: dict[str, Any]) -> None:
        """One PATCH with only the changed paths (None → remove).

        A strict target answers 400 ``noTarget`` to ``replace emails[type eq "work"].value`` when the
        user has no work email; then the resource is read once and the PATCH re-sent with ``add``.
        """
        if not changes:
            return
        operation = f"update {object_type}"
        try:
            operations = patch_operations(object_type, changes, self.compat)
        except ValueError as exc:
            raise local_error(exc, operation) from exc
        try:
            self._patch(object_type, target_id, operations, operation)
        except TargetError as error:
            filtered = any(op.get("path") and parse_path(op["path"]).filter_attribute for op in operations)
            if error.scim_type != "noTarget" or not filtered:
                raise
            current, _ = self._call(
                operation,
                "GET",
                f"{self._endpoint(object_type)}/{target_id}",
                lambda: self._scim.query(self._model(object_type), target_id),
                on_resource=True,
            )
            rewritten = rewrite_missing_entries(operations, self._document(self._returned(current)))
            if rewritten == operations:
                raise
            self._patch(object_type, target_id, rewritten, operation)

    def set_active(self, target_id: str, active: bool) -> None:
        """``PATCH active`` (Entra's disable/enable): a JSON boolean, or "True"/"False" with
        ``booleanForm=string``."""
        self._patch(
            "User",
            target_id,
            [wire_operation({"op": "replace", "path": "active", "value": active}, self.compat)],
            "enable User" if active else "disable User",
        )

    def delete(self, object_type: ObjectType, target_id: str) -> None:
        """``DELETE``; already gone (404) counts as done, also when a retried DELETE finds its own work."""
        try:
            self._call(
                f"delete {object_type}",
                "DELETE",
                f"{self._endpoint(object_type)}/{target_id}",
                lambda: self._scim.delete(self._model(object_type), target_id),
                on_resource=True,
            )
        except TargetError as error:
            if error.category is not ErrorCategory.NOT_FOUND:
                raise

    def add_members(self, group_id: str, member_ids: list[str]) -> None:
        """``PATCH add members``, ``member_batch_size`` per request.

        Retried after a lost answer: adding a present member changes nothing (RFC 7644 §3.5.2.1); a
        target that answers 409 to the repeat is taken at its word that the member is there.
        """
        op = "Add" if self.compat.capitalized_ops else "add"
        for batch in _chunks(_unique(member_ids), self.settings.member_batch_size):
            self._patch(
                "Group",
                group_id,
                [{"op": op, "path": "members", "value": [{"value": member} for member in batch]}],
                "add members",
                accept_after_unknown=lambda e: e.category is ErrorCategory.CONFLICT,
            )

    def remove_members(self, group_id: str, member_ids: list[str]) -> None:
        """``PATCH remove members[value eq "id"]`` (one op per member), or with ``memberRemoval=valueList``
        one ``remove members`` carrying the value list.

        Retried after a lost answer; a 400 ``noTarget`` on the repeat means the members are already gone.
        """
        for batch in _chunks(_unique(member_ids), self.settings.member_batch_size):
            if self.compat.value_list_removal:
                operations = [{"op": "remove", "path": "members", "value": [{"value": m} for m in batch]}]
            else:
                operations = [
                    {"op": "remove", "path": f'members[value eq "{escape_filter_value(m)}"]'} for m in batch
                ]
            self._patch(
                "Group",
                group_id,
                [wire_operation(op, self.compat) for op in operations],
                "remove members",
                accept_after_unknown=lambda e: e.scim_type == "noTarget",
            )

    def bulk_create(
        self, object_type: ObjectType, items: list[dict[str, Any]]
    ) -> list[TargetObject | TargetError]:
        """Create many objects through ``/Bulk`` when advertised, else one ``POST`` each.

        One result per item, in order. Bulk answers carry no resource, so ``values`` of a bulk-created
        object are what was sent. A credentials failure stops the sequential path early (the remaining
        items get the same error, unsent).
        """
        if not items:
            return []
        capabilities = self.capabilities()
        if not (self.settings.use_bulk and capabilities.bulk):
            return self._create_each(object_type, items)
        size = self.settings.bulk_batch_size
        if capabilities.bulk_max_operations:
            size = min(size, capabilities.bulk_max_operations)
        results: list[TargetObject | TargetError] = []
        for batch in _chunks(items, size):
            results.extend(self._bulk_batch(object_type, batch, capabilities.bulk_max_payload_size))
        return results

    def _create_each(
        self, object_type: ObjectType, items: list[dict[str, Any]]
    ) -> list[TargetObject | TargetError]:
        results: list[TargetObject | TargetError] = []
        for index, values in enumerate(items):
            try:
                results.append(self.create(object_type, values))
            except TargetError as error:
                results.append(error)
                if error.category is ErrorCategory.UNAUTHORIZED:
                    results.extend(copy.copy(error) for _ in items[index + 1 :])
                    break
        return results

    def _bulk_batch(
        self, object_type: ObjectType, items: list[dict[str, Any]], max_payload: int | None
    ) -> list[TargetObject | TargetError]:
        operation = f"bulk create {object_type}"
        model = self._model(object_type)
        endpoint = self._endpoint(object_type)
        results: list[TargetObject | TargetError | None] = [None] * len(items)
        positions: dict[str, int] = {}
        operations = []
        operation_model = BulkOperation[model]  # one parametrised class per batch, not one per item
        for index, values in enumerate(items):
            try:
                resource = build_resource(object_type, values)
            except (ValidationError, ValueError) as exc:
                results[index] = local_error(exc, operation)
                continue
            bulk_id = f"item{index}"
            positions[bulk_id] = index
            operations.append(operation_model(method="POST", path=endpoint, bulk_id=bulk_id, data=resource))
        if not operations:
            return results  # type: ignore[return-value]
        # Serialised once, by scim2-models, exactly as scim2-client would (it is handed the payload and
        # does not validate and dump the request a second time): each resource's document is read back
        # from it, the body that is sent.
        with LENIENT_POLICY:
            payload = BulkRequest[model](operations=operations).model_dump(scim_ctx=Context.BULK_REQUEST)
        documents = {
            op["bulkId"]: (positions[op["bulkId"]], op.get("data") or {}) for op in payload["Operations"]
        }
        if max_payload and len(operations) > 1:
            size = len(json.dumps([d for _, d in documents.values()]))
            if size > max_payload * 0.9:  # leave room for the envelope
                half = len(items) // 2
                return self._bulk_batch(object_type, items[:half], max_payload) + self._bulk_batch(
                    object_type, items[half:], max_payload
                )
        try:
            response, retries = self._call(
                operation,
                "POST",
                "/Bulk",
                lambda: self._send_bulk(payload),
                on_resource=False,
            )
        except TargetError as error:
            for index, _ in documents.values():
                results[index] = copy.copy(error)
            return results  # type: ignore[return-value]
        answered = self._bulk_answers(response)
        for bulk_id, (index, document) in documents.items():
            answer = answered.get(bulk_id)
            if answer is None:
                results[index] = make_error(
                    ErrorCode.INTERNAL_SERVER_ERROR,
                    "The application did not process this operation of the bulk request.",
                    operation=operation,
                )
                continue
            status, location, scim_type, detail = answer
            if status is not None and status < 300 and location:
                target_id = location.rstrip("/").rsplit("/", 1)[-1]
                results[index] = TargetObject(target_id, flatten(object_type, document), retry_count=retries)
            else:
                error = error_for_status(
                    status or 500, scim_type, detail, method="POST", on_resource=False, retry_after=None
                )
                error.operation = operation
                error.request = {
                    "operation": operation,
                    "method": "POST",
                    "path": f"/Bulk ({endpoint}, bulkId {bulk_id})",
                    "body": redact_secrets(document),
                }
                results[index] = error
        return results  # type: ignore[return-value]

    def _send_bulk(self, payload: dict[str, Any]) -> Any:
        """``POST /Bulk`` through scim2-client; a processed job's answer is read without validation.

        A processed job answers 2xx with a short entry per operation, and validating it with
        scim2-models (a model per entry) cost as much CPU as serialising the request. The entries are
        read by :meth:`_bulk_answers`, which reads a raw answer as it reads a validated one (and an
        answer that fails validation was already taken raw). Any other answer is checked by
        scim2-client with validation on, as before, so a failed job's SCIM error is unchanged.
        """
        try:
            result = self._scim.bulk(payload, check_request_payload=False, check_response_payload=False)
        except (SCIMClientException, SCIMException) as unchecked:
            response = getattr(unchecked, "source", None)
            if isinstance(response, httpx2.Response):
                self._checked_answer(response)
            raise
        response = getattr(self._local, "response", None)
        if response is not None and not 200 <= response.status_code < 300:
            return self._checked_answer(response)
        return result

    def _checked_answer(self, response: httpx2.Response) -> Any:
        """What scim2-client makes of a Bulk answer with validation on (raising as it raises)."""
        try:
            body = response.json() if response.text else None
        except ValueError:
            return None  # not JSON: scim2-client refused it already, the same way either way
        try:
            return self._scim.check_response(
                payload=body,
                status_code=response.status_code,
                headers=response.headers,
                expected_status_codes=self._scim.BULK_RESPONSE_STATUS_CODES,
                check_response_payload=True,
                scim_ctx=Context.BULK_RESPONSE,
            )
        except (SCIMClientException, SCIMException) as checked:
            checked.source = response  # as scim2-client sets it on what it raises
            raise checked from None

    @staticmethod
    def _bulk_answers(response: Any) -> dict[str, tuple[int | None, str | None, str | None, str]]:
        """bulkId → (status, location, scimType, detail) from a validated or raw BulkResponse."""
        answers: dict[str, tuple[int | None, str | None, str | None, str]] = {}
        if isinstance(response, dict):
            raw_operations = response.get("Operations") or response.get("operations") or []
        else:
            raw_operations = [
                {
                    "bulkId": op.bulk_id,
                    "status": op.status,
                    "location": op.location,
                    "response": op.response.model_dump()
                    if hasattr(op.response, "model_dump")
                    else op.response,
                }
                for op in response.operations or []
            ]
        for op in raw_operations:
            if not isinstance(op, dict) or not op.get("bulkId"):
                continue
            try:
                status = int(str(op.get("status")).split()[0])
            except (TypeError, ValueError, IndexError):
                status = None
            body = op.get("response") if isinstance(op.get("response"), dict) else {}
            answers[str(op["bulkId"])] = (
                status,
                op.get("location"),
                body.get("scimType") or body.get("scim_type"),
                str(body.get("detail") or ""),
            )
        return answers

    def close(self) -> None:
        """Close the pooled connections (and the token endpoint's)."""
        self._http.close()
        if self._oauth is not None:
            self._oauth.close()

    def __enter__(self) -> ScimTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ScimTarget({self.base_url!r}, compatibility={self.compat.changed()})"
