"""School provisioning for staff (DESIGN §3.11): upload the school's export
file, follow the import, read the report of bad lines, print the letters.

Staff sign in through `/staff/sign-in`; a school administrator works on their
school, académie support on the schools of their académie. Every upload and
every letters download is audited. Under /staff: the staff session cookie is
scoped to that path. The import itself is the workflow
`provisioning/<uai>/<import-id>`: this router stores the file in PostgreSQL
and hands the workflow its id.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from datetime import datetime, timedelta
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from api import pages
from api.deps import Pool, Staff, Temporal
from api.errors import ErrorBody
from educonnect import audit, letters, provisioning_imports
from educonnect.csv_import import MAX_FILE_BYTES, FileRefused, check_file
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

router = APIRouter(
    prefix="/staff/provisioning", tags=["Personnel : import des élèves et des responsables"]
)

Uai = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{7}[A-Z]$", description="Code UAI de l'établissement, par exemple 0690001T"
    ),
]
ImportId = Annotated[uuid.UUID, Path(description="Identifiant de l'import")]
FILE_FIELD = "fichier"
QUERY_TIMEOUT = timedelta(seconds=3)


class ImportStarted(BaseModel):
    import_id: uuid.UUID
    workflow_id: str
    filename: str
    message: str


class ImportSummary(BaseModel):
    import_id: uuid.UUID
    filename: str
    created_at: datetime
    finished_at: datetime | None = None
    rows_total: int | None = None
    rows_valid: int | None = None
    rows_invalid: int | None = None


class RowErrorView(BaseModel):
    ligne: int
    colonne: str | None = None
    message: str


class ImportReport(BaseModel):
    import_id: uuid.UUID
    rows_total: int | None = None
    rows_invalid: int | None = None
    errors: list[RowErrorView]


async def _school_in_scope(
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
        await audit.record(
            pool, member.actor, action, "school", uai, outcome=audit.REFUSED,
            details={"code": ErrorCode.PROVISIONING_OUT_OF_SCOPE.value},
        )  # fmt: skip
        raise DomainError(ErrorCode.PROVISIONING_SCHOOL_UNKNOWN)
    return school


async def _import_row(pool: asyncpg.Pool, uai: str, import_id: uuid.UUID) -> asyncpg.Record:
    row = await provisioning_imports.import_row(pool, uai, import_id)
    if row is None:
        raise DomainError(ErrorCode.PROVISIONING_IMPORT_NOT_FOUND)
    return row


async def _uploaded_file(request: Request) -> tuple[bytes, str]:
    """The file from a multipart form (field `fichier`) or a text/csv body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get(FILE_FIELD)
        if upload is None or isinstance(upload, str):
            raise DomainError(
                ErrorCode.PROVISIONING_FILE_INVALID,
                message=f"Joignez le fichier dans le champ « {FILE_FIELD} » du formulaire.",
            )
        content = await upload.read(MAX_FILE_BYTES + 1)
        filename = upload.filename or "export.csv"
    else:
        buffer = bytearray()
        async for chunk in request.stream():
            buffer += chunk
            if len(buffer) > MAX_FILE_BYTES:
                break
        content = bytes(buffer)
        filename = request.headers.get("x-filename") or "export.csv"
    if not content.strip():
        raise DomainError(
            ErrorCode.PROVISIONING_FILE_INVALID, message="Le fichier envoyé est vide."
        )
    return content, filename[:200]


@router.post(
    "/{uai}/imports",
    summary="Importer le fichier des élèves et des responsables",
    description=(
        "Envoyez le fichier CSV de l'établissement (champ de formulaire `fichier`, ou corps `text/csv`). "
        "La première ligne est vérifiée tout de suite ; chaque ligne l'est ensuite par l'import, qui "
        "enregistre les lignes valides et signale les autres avec leur numéro."
    ),
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportStarted,
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def upload(
    uai: Uai, request: Request, member: Staff, pool: Pool, temporal: Temporal
) -> ImportStarted:
    school = await _school_in_scope(pool, member, uai, "provisioning.upload")
    content, filename = await _uploaded_file(request)
    try:
        check_file(content)
    except FileRefused as refused:
        raise DomainError(ErrorCode.PROVISIONING_FILE_INVALID, message=str(refused)) from None
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
    return ImportStarted(
        import_id=import_id,
        workflow_id=wid,
        filename=filename,
        message="Le fichier est en cours d'import. Suivez son avancement sur cette page.",
    )


@router.get(
    "/{uai}/imports", summary="Imports de l'établissement", response_model=list[ImportSummary]
)
async def list_imports(uai: Uai, member: Staff, pool: Pool) -> list[ImportSummary]:
    await _school_in_scope(pool, member, uai, "provisioning.list")
    rows = await provisioning_imports.imports_of(pool, uai)
    return [ImportSummary(**dict(r)) for r in rows]


async def import_status(
    temporal: Client, pool: asyncpg.Pool, uai: str, import_id: uuid.UUID
) -> ProvisioningStatus:
    row = await _import_row(pool, uai, import_id)
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


@router.get(
    "/{uai}/imports/{import_id}",
    summary="Avancement d'un import",
    response_model=ProvisioningStatus,
    responses={404: {"model": ErrorBody}},
)
async def get_import(
    uai: Uai, import_id: ImportId, member: Staff, pool: Pool, temporal: Temporal
) -> ProvisioningStatus:
    await _school_in_scope(pool, member, uai, "provisioning.status")
    return await import_status(temporal, pool, uai, import_id)


@router.get(
    "/{uai}/imports/{import_id}/errors",
    summary="Lignes refusées d'un import",
    description="Chaque ligne refusée avec son numéro dans le fichier et la raison. `?format=csv` pour un tableur.",
    response_model=ImportReport,
    responses={404: {"model": ErrorBody}},
)
async def import_errors(
    uai: Uai,
    import_id: ImportId,
    member: Staff,
    pool: Pool,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
):
    await _school_in_scope(pool, member, uai, "provisioning.errors")
    row = await _import_row(pool, uai, import_id)
    errors = await provisioning_imports.refused_lines(pool, import_id)
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(["ligne", "colonne", "message"])
        writer.writerows([(e["line_no"], e["field"] or "", e["message"]) for e in errors])
        return Response(
            ("\ufeff" + out.getvalue()).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="erreurs-import-{import_id}.csv"'
            },
        )
    return ImportReport(
        import_id=import_id,
        rows_total=row["rows_total"],
        rows_invalid=row["rows_invalid"],
        errors=[
            RowErrorView(ligne=e["line_no"], colonne=e["field"], message=e["message"])
            for e in errors
        ],
    )


@router.get(
    "/{uai}/imports/{import_id}/letters.pdf",
    summary="Courriers à imprimer d'un import (PDF)",
    description=(
        "Un courrier par compte sans adresse électronique (élèves, responsables sans email), classés par classe "
        "puis par nom. `classe` limite aux courriers d'une classe."
    ),
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 404: {"model": ErrorBody}},
)
async def import_letters(
    uai: Uai,
    import_id: ImportId,
    member: Staff,
    pool: Pool,
    classe: Annotated[str | None, Query(max_length=30)] = None,
) -> Response:
    await _school_in_scope(pool, member, uai, "provisioning.letters")
    await _import_row(pool, uai, import_id)
    rows = await provisioning_imports.import_letters(pool, import_id, uai, classe)
    if not rows:
        raise DomainError(ErrorCode.PROVISIONING_NO_LETTERS)

    merged = await asyncio.to_thread(letters.merge, [bytes(r["pdf"]) for r in rows])
    ids = [r["account_id"] for r in rows]
    await provisioning_imports.letters_downloaded(pool, ids)
    await audit.record(
        pool, member.actor, "provisioning.letters_download", "provisioning_import", import_id,
        details={"uai": uai, "letters": len(ids), "classe": classe},
    )  # fmt: skip
    suffix = f"-{classe}" if classe else ""
    return pages.pdf_download(merged, f"courriers-{uai}{suffix}.pdf")


@router.get(
    "/{uai}/letters/{account_id}.pdf",
    summary="Le courrier d'un compte (PDF)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 404: {"model": ErrorBody}},
)
async def account_letter(uai: Uai, account_id: uuid.UUID, member: Staff, pool: Pool) -> Response:
    await _school_in_scope(pool, member, uai, "provisioning.letters")
    pdf = await provisioning_imports.account_letter(pool, account_id, uai)
    if pdf is None:
        raise DomainError(ErrorCode.PROVISIONING_NO_LETTERS)
    await provisioning_imports.letters_downloaded(pool, [account_id])
    await audit.record(
        pool,
        member.actor,
        "provisioning.letter_download",
        "account",
        account_id,
        details={"uai": uai},
    )
    return pages.pdf_download(bytes(pdf), f"courrier-{account_id}.pdf")
