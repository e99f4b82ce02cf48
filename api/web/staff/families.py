"""Families pages (issue 13, item 6; DESIGN §2) for a school administrator:
search the pupils of the school by a pupil's or a guardian's name, with the
account of each; issue new provisional credentials (by the school's
notification email, or as a letter to print and hand over) or create the
account of a guardian who has none; then the outcome the process gave and
the letter to download.

Staff never choose a password: the workflow `credentials-reissue/<id>`
generates it. Every call goes through `api.staff_families`, as the JSON
API's does; another school's family reads as unknown."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api import pages, staff_families
from api.deps import Pool, Temporal
from api.staff_families import ReissueBody, ReissueView
from api.web import paths
from api.web.forms import FieldError, PostedForm, errors_of, read_form, redirect
from api.web.staff.access import StaffPage, found_or_unknown, may_use, not_for_role, render_staff
from educonnect import family_accounts
from educonnect.errors import DomainError, ErrorCode
from educonnect.staff import StaffMember

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

NAV = "families"
SEARCH_FORM = "gestion-familles"
NAME_FIELD = "nom"
CHANNELS = {"courriel": "auto", "courrier": "courrier"}  # the form's word -> the process's
CHANNEL_FIELD = "canal"


def _search_page(nom: str) -> str:
    return (
        f"{paths.GESTION_FAMILIES}?{urlencode({NAME_FIELD: nom})}"
        if nom
        else paths.GESTION_FAMILIES
    )


@router.get(paths.GESTION_FAMILIES)
async def search_page(request: Request, member: StaffPage, pool: Pool):
    if not may_use(member, NAV):
        return not_for_role(request, member)
    nom = request.query_params.get(NAME_FIELD, "").strip()[:100]
    results, refusal = None, None
    if nom:
        try:
            results = await staff_families.search(pool, member, nom)
        except DomainError as err:
            refusal = errors_of(err)
    response = render_staff(
        request,
        member,
        "staff/families/search.html",
        {"title": "Familles", "nom": nom, "results": results, "refusal": refusal,
         "limit": staff_families.SEARCH_LIMIT, "back": _search_page(nom)},
        current=NAV,
        form=SEARCH_FORM,
    )  # fmt: skip
    return response


def _channel(form: PostedForm) -> ReissueBody | None:
    wanted = CHANNELS.get(form.get(CHANNEL_FIELD))
    return None if wanted is None else ReissueBody(canal=wanted)  # type: ignore[arg-type]


async def _issue(request: Request, raw_id: str, not_found: ErrorCode, issue):
    """The form of one person's row: check it, call `issue(id, body)` (the
    process call), then the outcome's page, or back to the search with the refusal."""
    form = await read_form(request, SEARCH_FORM)
    back = _search_page(form.get(NAME_FIELD).strip()[:100])
    if not form.csrf_ok:
        return form.expired(back)
    body = _channel(form)
    if body is None:
        code = ErrorCode.INVALID_INPUT
        return form.refused(
            back, [FieldError(None, "Choisissez l’envoi par courriel ou par courrier.", code.value)]
        )
    try:
        view = await issue(uuid.UUID(raw_id), body)
    except ValueError:  # a malformed id: unknown, as an unknown one
        return form.refused(back, errors_of(DomainError(not_found)))
    except DomainError as err:
        return form.refused(back, errors_of(err))
    return redirect(
        f"{paths.gestion_handover(view.reissue_id)}?{urlencode({NAME_FIELD: form.get(NAME_FIELD)})}"
    )


@router.post(paths.GESTION_FAMILY_REISSUE)
async def reissue(
    request: Request, account_id: str, member: StaffPage, pool: Pool, temporal: Temporal
):
    if not may_use(member, NAV):
        return not_for_role(request, member)

    async def issue(wanted: uuid.UUID, body: ReissueBody) -> ReissueView:
        return await staff_families.reissue_credentials(pool, temporal, member, wanted, body)

    return await _issue(request, account_id, ErrorCode.STAFF_ACCOUNT_NOT_FOUND, issue)


@router.post(paths.GESTION_FAMILY_CREATE)
async def create_account(
    request: Request, guardian_id: str, member: StaffPage, pool: Pool, temporal: Temporal
):
    if not may_use(member, NAV):
        return not_for_role(request, member)

    async def issue(wanted: uuid.UUID, body: ReissueBody) -> ReissueView:
        return await staff_families.create_guardian_account(pool, temporal, member, wanted, body)

    return await _issue(request, guardian_id, ErrorCode.STAFF_GUARDIAN_NOT_FOUND, issue)


async def _found(request: Request, member: StaffMember, raw_id: str, lookup):
    """`lookup(reissue id)`, or the French page of an unknown (or another school's) request."""
    return await found_or_unknown(
        request, member, raw_id, lookup, ErrorCode.REISSUE_NOT_FOUND,
        back_to=paths.GESTION_FAMILIES, back_label="Familles",
    )  # fmt: skip


@router.get(paths.GESTION_FAMILY_HANDOVER)
async def handover_page(request: Request, reissue_id: str, member: StaffPage, pool: Pool):
    if not may_use(member, NAV):
        return not_for_role(request, member)
    view, refusal = await _found(
        request, member, reissue_id, lambda i: staff_families.reissue_status(pool, member, i)
    )
    if refusal is not None:
        return refusal
    assert view is not None
    account = await family_accounts.account(pool, view.account_id) if view.account_id else None
    nom = request.query_params.get(NAME_FIELD, "").strip()[:100]
    return render_staff(
        request,
        member,
        "staff/families/handover.html",
        {"title": "Nouveaux identifiants provisoires", "view": view, "account": account,
         "back": _search_page(nom)},
        current=NAV,
    )  # fmt: skip


@router.get(paths.GESTION_FAMILY_LETTER, response_class=Response)
async def handover_letter(
    request: Request, reissue_id: str, member: StaffPage, pool: Pool
) -> Response:
    if not may_use(member, NAV):
        return not_for_role(request, member)
    pdf, refusal = await _found(
        request, member, reissue_id, lambda i: staff_families.reissue_letter(pool, member, i)
    )
    if refusal is not None:
        return refusal
    assert pdf is not None
    return pages.pdf_download(pdf, staff_families.letter_filename(uuid.UUID(reissue_id)))
