"""Provisioning pages (issue 13, item 5; DESIGN §3.11) for a school
administrator: upload the school's export, follow the import (a progress bar
fed by the workflow's status query: valid rows done out of the valid rows),
its refused lines (table, and a CSV to download), its letters merged into one
PDF, and the history of the school's imports.

The import page works without JavaScript ("Actualiser" while it runs); with
it, `static/js/staff-imports.js` polls the small JSON answer of
`GESTION_IMPORT_PROGRESS` and moves the bar, then reloads the page once the
import is over. Drag and drop of the file is an enhancement of the file input.
Every call goes through `api.staff_imports`, as the JSON API's does; another
school's import reads as unknown."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import UploadFile

from api import pages, staff_imports
from api.deps import Pool, Temporal
from api.web import paths
from api.web.forms import (
    CSRF_COOKIE,
    CSRF_FIELD,
    FieldError,
    PostedForm,
    csrf_valid,
    errors_of,
    redirect,
)
from api.web.staff.access import (
    StaffPage,
    found_or_unknown,
    may_use,
    not_for_role,
    render_staff,
    unknown,
)
from educonnect import provisioning_imports
from educonnect.csv_import import MAX_FILE_BYTES
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.provisioning import ProvisioningStatus, ProvisioningStep
from educonnect.staff import StaffMember

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

NAV = "imports"
UPLOAD_FORM = "gestion-import"
FILE_FIELD = "fichier"
ERRORS_SHOWN = 200  # refused lines listed on the page; the CSV has them all
POLL_SECONDS = 2  # how often the page's script asks for the progress


def _n(value: int) -> str:
    """1 200 (French thousands separator)."""
    return f"{value:,}".replace(",", "\u202f")


def progress_view(status: ProvisioningStatus) -> dict[str, object]:
    """The progress as the page and its script show it."""
    percent = staff_imports.percent_done(status)
    finished = status.step == ProvisioningStep.DONE
    if status.step == ProvisioningStep.VALIDATING:
        text = "Vérification des lignes du fichier…"
    else:
        text = f"{_n(status.rows_done)} lignes traitées sur {_n(status.rows_valid)} ({percent} %)"
    return {
        "percent": percent,
        "rows_done": status.rows_done,
        "rows_valid": status.rows_valid,
        "records_done": status.records_done,
        "step": status.step.value,
        "step_label": status.step_label,
        "finished": finished,
        "text": text,
    }


def _school_uai(member: StaffMember) -> str:
    assert member.uai is not None  # a school administrator (may_use checked)
    return member.uai


@router.get(paths.GESTION_IMPORTS)
async def imports_page(request: Request, member: StaffPage, pool: Pool):
    if not may_use(member, NAV):
        return not_for_role(request, member)
    uai = _school_uai(member)
    school = await staff_imports.school_in_scope(pool, member, uai, "provisioning.list")
    history = await provisioning_imports.imports_of(pool, uai)
    return render_staff(
        request,
        member,
        "staff/imports/list.html",
        {"title": "Imports des élèves et des responsables", "school": school,
         "history": history, "max_megabytes": MAX_FILE_BYTES // (1024 * 1024), "file_field": FILE_FIELD},
        current=NAV,
        form=UPLOAD_FORM,
    )  # fmt: skip


async def _posted_file(request: Request) -> tuple[PostedForm, UploadFile | None]:
    form = await request.form(max_files=1, max_fields=5)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    upload = form.get(FILE_FIELD)
    posted = PostedForm(
        name=UPLOAD_FORM,
        values=values,
        csrf_ok=csrf_valid(request.cookies.get(CSRF_COOKIE), values.get(CSRF_FIELD)),
    )
    return posted, upload if isinstance(upload, UploadFile) else None


@router.post(paths.GESTION_IMPORTS)
async def upload(request: Request, member: StaffPage, pool: Pool, temporal: Temporal):
    if not may_use(member, NAV):
        return not_for_role(request, member)
    form, upload_file = await _posted_file(request)
    if not form.csrf_ok:
        return form.expired(paths.GESTION_IMPORTS)
    if upload_file is None or not upload_file.filename:
        code = ErrorCode.PROVISIONING_FILE_INVALID
        missing = "Choisissez le fichier de l’établissement à importer."
        return form.refused(paths.GESTION_IMPORTS, [FieldError(FILE_FIELD, missing, code.value)])
    uai = _school_uai(member)
    try:
        school = await staff_imports.school_in_scope(pool, member, uai, "provisioning.upload")
        content = await upload_file.read(MAX_FILE_BYTES + 1)
        started = await staff_imports.start_import(
            pool, temporal, member, school, content, upload_file.filename
        )
    except DomainError as err:
        return form.refused(
            paths.GESTION_IMPORTS, errors_of(err, {ErrorCode.PROVISIONING_FILE_INVALID: FILE_FIELD})
        )
    return redirect(paths.gestion_import(started.import_id))


async def _import_of(request: Request, member: StaffMember, pool, raw_id: str, action: str):
    """The import's row (with its school) if it is the member's school's; else
    the French "unknown" page (a malformed id, an unknown one, another school's)."""
    if not may_use(member, NAV):
        return None, not_for_role(request, member)
    return await found_or_unknown(
        request,
        member,
        raw_id,
        lambda import_id: staff_imports.import_in_scope(pool, member, import_id, action),
        ErrorCode.PROVISIONING_IMPORT_NOT_FOUND,
        back_to=paths.GESTION_IMPORTS,
        back_label="Imports",
    )


@router.get(paths.GESTION_IMPORT)
async def import_page(
    request: Request, import_id: str, member: StaffPage, pool: Pool, temporal: Temporal
):
    row, refusal = await _import_of(request, member, pool, import_id, "provisioning.status")
    if refusal is not None:
        return refusal
    status = await staff_imports.import_status(temporal, pool, row["uai"], row["id"])
    lines = await provisioning_imports.refused_lines(pool, row["id"])
    return render_staff(
        request,
        member,
        "staff/imports/import.html",
        {"title": f"Import du fichier « {row['filename']} »", "row": row, "status": status,
         "progress": progress_view(status), "lines": lines[:ERRORS_SHOWN], "lines_count": len(lines),
         "poll_seconds": POLL_SECONDS, "n": _n},
        current=NAV,
    )  # fmt: skip


@router.get(paths.GESTION_IMPORT_PROGRESS, response_class=JSONResponse)
async def import_progress(
    request: Request, import_id: str, member: StaffPage, pool: Pool, temporal: Temporal
) -> Response:
    """The progress alone, for the import page's script (a few hundred bytes)."""
    row, refusal = await _import_of(request, member, pool, import_id, "provisioning.status")
    if refusal is not None:
        code = ErrorCode.PROVISIONING_IMPORT_NOT_FOUND
        return JSONResponse({"code": code.value, "message": code.message}, status_code=code.status)
    status = await staff_imports.import_status(temporal, pool, row["uai"], row["id"])
    return JSONResponse(progress_view(status), headers={"Cache-Control": "no-store"})


@router.get(paths.GESTION_IMPORT_ERRORS_CSV, response_class=Response)
async def import_errors_csv(
    request: Request, import_id: str, member: StaffPage, pool: Pool
) -> Response:
    row, refusal = await _import_of(request, member, pool, import_id, "provisioning.errors")
    if refusal is not None:
        return refusal
    lines = await provisioning_imports.refused_lines(pool, row["id"])
    filename = staff_imports.refused_lines_filename(row["id"])
    return Response(
        staff_imports.refused_lines_csv(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(paths.GESTION_IMPORT_LETTERS, response_class=Response)
async def import_letters(
    request: Request, import_id: str, member: StaffPage, pool: Pool
) -> Response:
    row, refusal = await _import_of(request, member, pool, import_id, "provisioning.letters")
    if refusal is not None:
        return refusal
    try:
        merged = await staff_imports.letters_pdf(pool, member, row["uai"], row["id"])
    except DomainError as err:
        back = paths.gestion_import(row["id"])
        return unknown(request, member, err.code, back_to=back, back_label="L’import")
    return pages.pdf_download(merged, staff_imports.letters_filename(row["uai"]))
