"""A school's imports as staff make and follow them (DESIGN §3.11), for the
JSON API (`api.routers.provisioning`) and the staff pages
(`api.web.staff.imports`): the school in the member's scope, the file kept in
PostgreSQL and its workflow `provisioning/<uai>/<import-id>` started, the
import's progress from the workflow's status query, its refused lines as a
spreadsheet, its letters merged into one PDF to print. Another school's
import answers like an unknown one; the audit log keeps the real reason.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from educonnect import audit, letters, provisioning_imports
from educonnect.csv_import import FileRefused, check_file
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.provisioning import (
    STEP_LABELS,
    ProvisioningCounts,
    ProvisioningInput,
    ProvisioningStatus,
    ProvisioningStep,
)
from educonnect.search_attributes import PROCESS_STEP, ROWS_DONE, ROWS_TOTAL, SCHOOL_UAI
from educonnect.settings import get_settings
from educonnect.staff import StaffMember
from workflows.provisioning import ProvisioningWorkflow, workflow_id

QUERY_TIMEOUT = timedelta(seconds=3)
ERRORS_CSV_HEADER = ("ligne", "colonne", "message")


async def school_in_scope(
    pool: asyncpg.Pool, member: StaffMember, uai: str, action: str
) -> asyncpg.Record:
    """The school of `uai` if it is in the member's scope. Another school
    answers like an unknown code (as every staff route answers another
    school's request, ticket or account like an unknown one); the audit log
    keeps the real reason."""
    school = await provisioning_imports.school(pool, uai)
    if school is None:
        raise DomainError(ErrorCode.PROVISIONING_SCHOOL_UNKNOWN)
    if not member.covers(uai, school["academie"]):
        await _refused(pool, member, action, "school", uai)
        raise DomainError(ErrorCode.PROVISIONING_SCHOOL_UNKNOWN)
    return school


async def import_row(pool: asyncpg.Pool, uai: str, import_id: uuid.UUID) -> asyncpg.Record:
    row = await provisioning_imports.import_row(pool, uai, import_id)
    if row is None:
        raise DomainError(ErrorCode.PROVISIONING_IMPORT_NOT_FOUND)
    return row


async def import_in_scope(
    pool: asyncpg.Pool, member: StaffMember, import_id: uuid.UUID, action: str
) -> asyncpg.Record:
    """The import `import_id` (with its school's `uai`) if its school is in the
    member's scope; another school's import answers like an unknown one."""
    row = await provisioning_imports.import_with_school(pool, import_id)
    if row is None:
        raise DomainError(ErrorCode.PROVISIONING_IMPORT_NOT_FOUND)
    if not member.covers(row["uai"], row["academie"]):
        await _refused(pool, member, action, "provisioning_import", import_id, uai=row["uai"])
        raise DomainError(ErrorCode.PROVISIONING_IMPORT_NOT_FOUND)
    return row


async def _refused(
    pool: asyncpg.Pool, member: StaffMember, action: str, kind: str, target, **details
) -> None:
    await audit.record(
        pool, member.actor, action, kind, target, outcome=audit.REFUSED,
        details={"code": ErrorCode.PROVISIONING_OUT_OF_SCOPE.value, **details},
    )  # fmt: skip


@dataclass(frozen=True)
class StartedImport:
    import_id: uuid.UUID
    workflow_id: str
    filename: str


async def start_import(
    pool: asyncpg.Pool,
    temporal: Client,
    member: StaffMember,
    school: asyncpg.Record,
    content: bytes,
    filename: str,
) -> StartedImport:
    """Check the file's first line, keep the file, start its workflow."""
    uai = school["uai"]
    if not content.strip():
        raise DomainError(
            ErrorCode.PROVISIONING_FILE_INVALID, message="Le fichier envoyé est vide."
        )
    try:
        check_file(content)
    except FileRefused as refused:
        raise DomainError(ErrorCode.PROVISIONING_FILE_INVALID, message=str(refused)) from None
    filename = filename[:200]
    import_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await provisioning_imports.record_import(conn, import_id, uai, member, filename, content)
        await audit.record(
            conn, member.actor, "provisioning.upload", "provisioning_import", import_id,
            details={"uai": uai, "filename": filename, "bytes": len(content)},
        )  # fmt: skip
    wid = workflow_id(uai, import_id)
    await temporal.start_workflow(
        ProvisioningWorkflow.run,
        ProvisioningInput(import_id=import_id, uai=uai, filename=filename),
        id=wid,
        task_queue=get_settings().task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(PROCESS_STEP, ProvisioningStep.VALIDATING.value),
                SearchAttributePair(SCHOOL_UAI, [uai]),
                SearchAttributePair(ROWS_DONE, 0),
                SearchAttributePair(ROWS_TOTAL, 0),
            ]
        ),
        static_summary=f"Import des élèves et responsables — {school['name']} ({uai}), fichier « {filename} »",
    )
    return StartedImport(import_id, wid, filename)


async def import_status(
    temporal: Client, pool: asyncpg.Pool, uai: str, import_id: uuid.UUID
) -> ProvisioningStatus:
    """Where the import is: the workflow's status query while it runs (rows
    done out of the valid rows), what PostgreSQL kept once it is over."""
    row = await import_row(pool, uai, import_id)
    try:
        return await temporal.get_workflow_handle(workflow_id(uai, import_id)).query(
            ProvisioningWorkflow.status, rpc_timeout=QUERY_TIMEOUT
        )
    except RPCError as err:
        if row["finished_at"] is None and err.status != RPCStatusCode.NOT_FOUND:
            raise  # no worker answers (restarting): service_unavailable, the person retries
    # Finished (or no worker to answer the query): what PostgreSQL knows.

    summary = row["summary"]
    counts = ProvisioningCounts(
        **(json.loads(summary) if isinstance(summary, str) else summary or {})
    )
    step = ProvisioningStep.DONE if row["finished_at"] else ProvisioningStep.VALIDATING
    valid = row["rows_valid"] or 0
    done = valid if row["finished_at"] else 0
    return ProvisioningStatus(
        import_id=import_id, uai=uai, step=step, step_label=STEP_LABELS[step], rows_total=row["rows_total"] or 0,
        rows_valid=valid, rows_invalid=row["rows_invalid"] or 0, rows_done=done, records_done=done,
        accounts_done=done, runs=1, counts=counts,
    )  # fmt: skip


def percent_done(status: ProvisioningStatus) -> int:
    """The import's progress in whole percents: valid rows fully processed
    (records and account) out of the valid rows; 100 once it is over."""
    if status.step == ProvisioningStep.DONE:
        return 100
    if status.rows_valid <= 0:
        return 0
    return min(99, status.rows_done * 100 // status.rows_valid)


def refused_lines_csv(lines: list[asyncpg.Record]) -> bytes:
    """The refused lines as a spreadsheet opens them (UTF-8 with its mark, `;`)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(ERRORS_CSV_HEADER)
    writer.writerows([(e["line_no"], e["field"] or "", e["message"]) for e in lines])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def refused_lines_filename(import_id: uuid.UUID) -> str:
    return f"erreurs-import-{import_id}.csv"


async def letters_pdf(
    pool: asyncpg.Pool,
    member: StaffMember,
    uai: str,
    import_id: uuid.UUID,
    class_name: str | None = None,
) -> bytes:
    """The import's letters still useful (of one class or all), merged into
    one PDF to print; the download is audited."""
    rows = await provisioning_imports.import_letters(pool, import_id, uai, class_name)
    if not rows:
        raise DomainError(ErrorCode.PROVISIONING_NO_LETTERS)
    merged = await asyncio.to_thread(letters.merge, [bytes(r["pdf"]) for r in rows])
    ids = [r["account_id"] for r in rows]
    await provisioning_imports.letters_downloaded(pool, ids)
    await audit.record(
        pool, member.actor, "provisioning.letters_download", "provisioning_import", import_id,
        details={"uai": uai, "letters": len(ids), "classe": class_name},
    )  # fmt: skip
    return merged


def letters_filename(uai: str, class_name: str | None = None) -> str:
    return f"courriers-{uai}{'-' + class_name if class_name else ''}.pdf"
