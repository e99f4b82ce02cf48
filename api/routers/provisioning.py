"""School provisioning for staff (DESIGN §3.11): upload the school's export
file, follow the import, read the report of bad lines, print the letters.

Staff sign in through `/staff/sign-in`; a school administrator works on their
school, académie support on the schools of their académie. Every upload and
every letters download is audited. Under /staff: the staff session cookie is
scoped to that path. The import itself is the workflow
`provisioning/<uai>/<import-id>`; `api.staff_imports` (which the staff pages
call too) stores the file in PostgreSQL and hands the workflow its id.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel

from api import pages, staff_imports
from api.deps import Pool, Staff, Temporal
from api.errors import ErrorBody
from educonnect import audit, provisioning_imports
from educonnect.csv_import import MAX_FILE_BYTES
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.provisioning import ProvisioningStatus

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
    return content, filename


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
    school = await staff_imports.school_in_scope(pool, member, uai, "provisioning.upload")
    content, filename = await _uploaded_file(request)
    started = await staff_imports.start_import(pool, temporal, member, school, content, filename)
    return ImportStarted(
        import_id=started.import_id,
        workflow_id=started.workflow_id,
        filename=started.filename,
        message="Le fichier est en cours d'import. Suivez son avancement sur cette page.",
    )


@router.get(
    "/{uai}/imports", summary="Imports de l'établissement", response_model=list[ImportSummary]
)
async def list_imports(uai: Uai, member: Staff, pool: Pool) -> list[ImportSummary]:
    await staff_imports.school_in_scope(pool, member, uai, "provisioning.list")
    rows = await provisioning_imports.imports_of(pool, uai)
    return [ImportSummary(**dict(r)) for r in rows]


@router.get(
    "/{uai}/imports/{import_id}",
    summary="Avancement d'un import",
    response_model=ProvisioningStatus,
    responses={404: {"model": ErrorBody}},
)
async def get_import(
    uai: Uai, import_id: ImportId, member: Staff, pool: Pool, temporal: Temporal
) -> ProvisioningStatus:
    await staff_imports.school_in_scope(pool, member, uai, "provisioning.status")
    return await staff_imports.import_status(temporal, pool, uai, import_id)


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
    await staff_imports.school_in_scope(pool, member, uai, "provisioning.errors")
    row = await staff_imports.import_row(pool, uai, import_id)
    errors = await provisioning_imports.refused_lines(pool, import_id)
    if format == "csv":
        return Response(
            staff_imports.refused_lines_csv(errors),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{staff_imports.refused_lines_filename(import_id)}"'
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
    await staff_imports.school_in_scope(pool, member, uai, "provisioning.letters")
    await staff_imports.import_row(pool, uai, import_id)
    merged = await staff_imports.letters_pdf(pool, member, uai, import_id, classe)
    return pages.pdf_download(merged, staff_imports.letters_filename(uai, classe))


@router.get(
    "/{uai}/letters/{account_id}.pdf",
    summary="Le courrier d'un compte (PDF)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 404: {"model": ErrorBody}},
)
async def account_letter(uai: Uai, account_id: uuid.UUID, member: Staff, pool: Pool) -> Response:
    await staff_imports.school_in_scope(pool, member, uai, "provisioning.letters")
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
