"""The platform's Temporal search attributes.

Pure module (no I/O at import time): workflow code imports the keys to upsert
them, the dev stack and the tests register them on the server.

Search attributes must exist on the server before a workflow upserts them; an
unregistered one fails the workflow task and the workflow hangs silently
(DESIGN §7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

if TYPE_CHECKING:  # pragma: no cover
    import temporalio.client

# Current step of a process (e.g. "attente_code_sms", "termine").
PROCESS_STEP = SearchAttributeKey.for_keyword("EduProcessStep")
# The EduConnect account a process works on.
ACCOUNT_ID = SearchAttributeKey.for_keyword("EduAccountId")
# The schools (UAI codes) concerned, so that staff can filter by school.
SCHOOL_UAI = SearchAttributeKey.for_keyword_list("EduSchoolUai")

# Progress of a batch process (school provisioning): rows done out of rows total.
ROWS_DONE = SearchAttributeKey.for_int("EduRowsDone")
ROWS_TOTAL = SearchAttributeKey.for_int("EduRowsTotal")

ALL: list[SearchAttributeKey[Any]] = [PROCESS_STEP, ACCOUNT_ID, SCHOOL_UAI, ROWS_DONE, ROWS_TOTAL]

# Names understood by `temporal server start-dev --search-attribute KEY=TYPE`.
_CLI_TYPE_NAMES = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}


def dev_server_flags() -> list[str]:
    """`--search-attribute NAME=TYPE` arguments for `temporal server start-dev`."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPE_NAMES[key.indexed_value_type]}"]
    return flags


async def register(client: temporalio.client.Client, namespace: str | None = None) -> None:
    """Add the search attributes to `namespace` (default: the client's), keeping
    those already there. Used for the time-skipping test server and a real server."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.service import RPCError, RPCStatusCode

    namespace = namespace or client.namespace
    wanted = {key.name: IndexedValueType.ValueType(key.indexed_value_type.value) for key in ALL}
    # Skip those already registered: adding an existing one is an error on most servers.
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        present = set(existing.custom_attributes) | set(existing.system_attributes)
        wanted = {name: t for name, t in wanted.items() if name not in present}
    except RPCError:
        pass  # Listing is optional (e.g. not allowed): try to add them all.
    if not wanted:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=wanted, namespace=namespace)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.ALREADY_EXISTS or "already exists" in str(err).lower():
            return
        raise
