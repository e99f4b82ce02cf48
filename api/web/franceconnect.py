"""S'identifier avec FranceConnect, as pages (DESIGN §3.3, FAQ 2.3).

The provider sends the browser back to `GET /franceconnect/callback`
(`api.routers.franceconnect`), which answers a browser (it asks for HTML)
with a redirect: to the portal (a later visit), to the first visit's page
(`FRANCECONNECT_FIRST_VISIT`), or to the page that says why not
(`FRANCECONNECT_REFUSED`: cancelled at FranceConnect, FranceConnect down...).

The first visit is the workflow `franceconnect-link/<uuid>`, driven by the
browser that came back (its cookie, sent under `/franceconnect` only: hence
these addresses); each page is built from the workflow's status, and one at
another step sends the person to the page of that step (`page_of`):

    awaiting_mobile     -> "Numéro de téléphone mobile"   FRANCECONNECT_MOBILE
    awaiting_code       -> "Code reçu par SMS"            FRANCECONNECT_CODE
                           (resend; "Modifier le numéro": FRANCECONNECT_CHANGE_MOBILE)
    awaiting_birthdate  -> "Date de naissance"            FRANCECONNECT_BIRTHDATE
    birthdate_blocked   -> blocked, the correction        FRANCECONNECT_BLOCKED
    linked              -> the portal
    code_locked, expired, replaced -> ended               FRANCECONNECT_ENDED

Every step calls what the JSON routes call (`api.routers.franceconnect`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.deps import SESSION_COOKIE, Pool, Temporal, get_pool
from api.process_calls import six_digit_code
from api.routers.franceconnect import (
    LINK,
    LINK_COOKIE,
    CodeRequest,
    FranceConnectLinkWorkflow,
    MobileRequest,
    ended_code,
    enter_mobile,
    link_of_browser,
    link_with_birthdate,
    resend_code,
    submit_code,
    view_with_correction,
)
from api.web import paths
from api.web.forms import (
    FieldError,
    errors_of,
    notice,
    read_form,
    redirect,
    render,
    typed_date,
    validation_errors,
)
from educonnect import policies
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.franceconnect import LinkStatus, LinkStep

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

STEPS = ("Numéro de téléphone mobile", "Code reçu par SMS", "Date de naissance d’un enfant")

MOBILE_FORM = "fc-mobile"
CODE_FORM = "fc-code"
CHANGE_MOBILE_FORM = "fc-numero"
BIRTHDATE_FORM = "fc-date"

STEP_PAGES = {
    LinkStep.AWAITING_MOBILE: paths.FRANCECONNECT_MOBILE,
    LinkStep.AWAITING_CODE: paths.FRANCECONNECT_CODE,
    LinkStep.AWAITING_BIRTHDATE: paths.FRANCECONNECT_BIRTHDATE,
    LinkStep.BIRTHDATE_BLOCKED: paths.FRANCECONNECT_BLOCKED,
    LinkStep.LINKED: paths.PORTAL,
    LinkStep.CODE_LOCKED: paths.FRANCECONNECT_ENDED,
    LinkStep.EXPIRED: paths.FRANCECONNECT_ENDED,
    LinkStep.REPLACED: paths.FRANCECONNECT_ENDED,
}

# The refusals the callback (or the FranceConnect button) sends here, each with its title.
REFUSAL_TITLES = {
    ErrorCode.FRANCECONNECT_CANCELLED: "Connexion avec FranceConnect annulée",
    ErrorCode.FRANCECONNECT_UNAVAILABLE: "FranceConnect est momentanément indisponible",
}
REFUSAL_DEFAULT_TITLE = "Connexion avec FranceConnect impossible"
REFUSAL_CODES = frozenset(c for c in ErrorCode if c.value.startswith("franceconnect_")) | {
    ErrorCode.ACCOUNT_UNAVAILABLE,
    ErrorCode.SERVICE_UNAVAILABLE,
}


def page_of(step: LinkStep) -> str:
    return STEP_PAGES[step]


def refused(code: ErrorCode) -> Response:
    return redirect(f"{paths.FRANCECONNECT_REFUSED}?motif={code.value}")


async def _link(request: Request) -> uuid.UUID | None:
    return await link_of_browser(get_pool(request), request.cookies.get(LINK_COOKIE))


async def _at_step(
    request: Request, temporal, *steps: LinkStep
) -> tuple[uuid.UUID, LinkStatus] | Response:
    """This browser's first visit and its status if it is at one of `steps`;
    otherwise where to go: the page of its step, or the page saying it is gone."""
    link_id = await _link(request)
    if link_id is None:
        return refused(ErrorCode.FRANCECONNECT_LINK_NOT_FOUND)
    try:
        status = await LINK.status(temporal, link_id)
    except DomainError as err:
        if err.code in (ErrorCode.FRANCECONNECT_LINK_EXPIRED, ErrorCode.SMS_CODE_LOCKED):
            return redirect(paths.FRANCECONNECT_ENDED)
        return refused(err.code)
    if status.step not in steps:
        return redirect(page_of(status.step))
    return link_id, status


def _tries(left: int, most: int) -> str:
    if left >= most:
        return f"Vous disposez de {left} essais."
    return f"Il vous reste {left} essai{'s' if left > 1 else ''}."


def _context(title: str, current: int, status: LinkStatus, **more) -> dict:
    return {"title": title, "steps": STEPS, "current": current, "status": status, **more}


# --- the callback's refusals ------------------------------------------------------------------


@router.get(paths.FRANCECONNECT_REFUSED)
async def refused_page(request: Request, motif: str = ""):
    """Why FranceConnect could not sign the person in (the callback's refusal),
    with the ways on: FranceConnect again, or the home page."""
    code = ErrorCode._value2member_map_.get(motif)
    if not isinstance(code, ErrorCode) or code not in REFUSAL_CODES:
        code = ErrorCode.FRANCECONNECT_DENIED
    return render(
        request,
        "franceconnect/refused.html",
        {"title": REFUSAL_TITLES.get(code, REFUSAL_DEFAULT_TITLE), "code": code},
    )


# --- the first visit --------------------------------------------------------------------------


@router.get(paths.FRANCECONNECT_FIRST_VISIT)
async def first_visit(request: Request, temporal: Temporal):
    """Where the callback sends a first visit: the page of its step."""
    at = await _at_step(request, temporal)  # no step given: always where to go
    return at if isinstance(at, Response) else redirect(page_of(at[1].step))


@router.get(paths.FRANCECONNECT_MOBILE)
async def mobile_page(request: Request, temporal: Temporal):
    at = await _at_step(request, temporal, LinkStep.AWAITING_MOBILE)
    if isinstance(at, Response):
        return at
    _, status = at
    return render(
        request,
        "franceconnect/mobile.html",
        _context("Première connexion avec FranceConnect", 1, status),
        form=MOBILE_FORM,
    )


async def _mobile_typed(
    request: Request, pool, temporal, form_name: str, page: str, update, done: str | None = None
):
    """A number typed (the first one, or "Modifier le numéro"): on to the code
    page (saying `done` there)."""
    form = await read_form(request, form_name)
    if not form.csrf_ok:
        return form.expired(page)
    link_id = await _link(request)
    if link_id is None:
        return refused(ErrorCode.FRANCECONNECT_LINK_NOT_FOUND)
    try:
        body = MobileRequest(mobile=form.get("mobile"))
    except ValidationError as exc:
        return form.refused(page, validation_errors(exc, form.values))
    try:
        await enter_mobile(update, link_id, body, pool, temporal, request.cookies.get(LINK_COOKIE))
    except DomainError as err:
        if err.code in (ErrorCode.FRANCECONNECT_LINK_WRONG_STEP, ErrorCode.WRONG_STEP):
            return redirect(paths.FRANCECONNECT_FIRST_VISIT)  # moved on meanwhile
        if err.code == ErrorCode.FRANCECONNECT_LINK_NOT_FOUND:
            return refused(err.code)
        return form.refused(page, errors_of(err, {ErrorCode.PHONE_INVALID: "mobile"}))
    if done:
        return notice(paths.FRANCECONNECT_CODE, CODE_FORM, done)
    return redirect(paths.FRANCECONNECT_CODE)


@router.post(paths.FRANCECONNECT_MOBILE)
async def mobile_submit(request: Request, pool: Pool, temporal: Temporal):
    return await _mobile_typed(
        request,
        pool,
        temporal,
        MOBILE_FORM,
        paths.FRANCECONNECT_MOBILE,
        FranceConnectLinkWorkflow.submit_mobile,
    )


@router.get(paths.FRANCECONNECT_CODE)
async def code_page(request: Request, temporal: Temporal):
    at = await _at_step(request, temporal, LinkStep.AWAITING_CODE)
    if isinstance(at, Response):
        return at
    _, status = at
    code = status.code
    return render(
        request,
        "franceconnect/code.html",
        _context(
            "Saisir le code reçu par SMS",
            2,
            status,
            sms=code,
            tries=_tries(code.attempts_left, policies.SMS_CODE_MAX_FAILURES) if code else "",
        ),
        form=CODE_FORM,
    )


@router.post(paths.FRANCECONNECT_CODE)
async def code_submit(request: Request, pool: Pool, temporal: Temporal):
    form = await read_form(request, CODE_FORM)
    if not form.csrf_ok:
        return form.expired(paths.FRANCECONNECT_CODE)
    link_id = await _link(request)
    if link_id is None:
        return refused(ErrorCode.FRANCECONNECT_LINK_NOT_FOUND)
    try:
        body = CodeRequest(code=six_digit_code(form.get("code")))
        await submit_code(link_id, body, pool, temporal, request.cookies.get(LINK_COOKIE))
    except DomainError as err:
        if err.code == ErrorCode.SMS_CODE_LOCKED:
            return redirect(paths.FRANCECONNECT_ENDED)
        if err.code == ErrorCode.FRANCECONNECT_LINK_NOT_FOUND:
            return refused(err.code)
        if err.code in (ErrorCode.FRANCECONNECT_LINK_WRONG_STEP, ErrorCode.SMS_CODE_ALREADY_USED):
            return redirect(paths.FRANCECONNECT_FIRST_VISIT)
        return form.refused(paths.FRANCECONNECT_CODE, errors_of(err, {err.code: "code"}))
    return redirect(paths.FRANCECONNECT_BIRTHDATE)


@router.post(paths.FRANCECONNECT_RESEND_CODE)
async def code_resend(request: Request, pool: Pool, temporal: Temporal):
    form = await read_form(request, CODE_FORM)
    if not form.csrf_ok:
        return form.expired(paths.FRANCECONNECT_CODE)
    link_id = await _link(request)
    if link_id is None:
        return refused(ErrorCode.FRANCECONNECT_LINK_NOT_FOUND)
    try:
        await resend_code(link_id, pool, temporal, request.cookies.get(LINK_COOKIE))
    except DomainError as err:
        return form.refused(paths.FRANCECONNECT_CODE, errors_of(err))
    return notice(
        paths.FRANCECONNECT_CODE,
        CODE_FORM,
        "Un nouveau code vous a été envoyé par SMS. L’ancien code ne fonctionne plus.",
    )


@router.get(paths.FRANCECONNECT_CHANGE_MOBILE)
async def change_mobile_page(request: Request, temporal: Temporal):
    at = await _at_step(request, temporal, LinkStep.AWAITING_CODE)
    if isinstance(at, Response):
        return at
    _, status = at
    return render(
        request,
        "franceconnect/change_mobile.html",
        _context("Modifier le numéro", 2, status),
        form=CHANGE_MOBILE_FORM,
    )


@router.post(paths.FRANCECONNECT_CHANGE_MOBILE)
async def change_mobile_submit(request: Request, pool: Pool, temporal: Temporal):
    return await _mobile_typed(
        request,
        pool,
        temporal,
        CHANGE_MOBILE_FORM,
        paths.FRANCECONNECT_CHANGE_MOBILE,
        FranceConnectLinkWorkflow.change_mobile,
        done="Numéro modifié. Si ce numéro correspond à nos informations, un nouveau code "
        "vous a été envoyé par SMS ; l’ancien code ne fonctionne plus.",
    )


@router.get(paths.FRANCECONNECT_BIRTHDATE)
async def birthdate_page(request: Request, temporal: Temporal):
    at = await _at_step(request, temporal, LinkStep.AWAITING_BIRTHDATE)
    if isinstance(at, Response):
        return at
    _, status = at
    return render(
        request,
        "franceconnect/birthdate.html",
        _context(
            "Date de naissance d’un enfant",
            3,
            status,
            tries=_tries(status.birthdate_attempts_left, policies.BIRTHDATE_MAX_ATTEMPTS),
        ),
        form=BIRTHDATE_FORM,
    )


@router.post(paths.FRANCECONNECT_BIRTHDATE)
async def birthdate_submit(request: Request, pool: Pool, temporal: Temporal):
    form = await read_form(request, BIRTHDATE_FORM)
    if not form.csrf_ok:
        return form.expired(paths.FRANCECONNECT_BIRTHDATE)
    link_id = await _link(request)
    if link_id is None:
        return refused(ErrorCode.FRANCECONNECT_LINK_NOT_FOUND)
    errors: list[FieldError] = []
    birthdate = typed_date(form, "child_birthdate", errors)
    if errors or birthdate is None:
        code = ErrorCode.INVALID_INPUT
        errors = errors or [FieldError("child_birthdate", "Ce champ est obligatoire.", code)]
        return form.refused(paths.FRANCECONNECT_BIRTHDATE, errors)
    response = redirect(paths.PORTAL)  # linked: the portal session's cookie is set on it
    try:
        await link_with_birthdate(
            pool,
            temporal,
            response,
            link_id,
            birthdate,
            request.cookies.get(LINK_COOKIE),
            request.cookies.get(SESSION_COOKIE),
        )
    except DomainError as err:
        if err.code == ErrorCode.BIRTHDATE_BLOCKED:
            return redirect(paths.FRANCECONNECT_BLOCKED)
        if err.code == ErrorCode.FRANCECONNECT_LINK_WRONG_STEP:
            return redirect(paths.FRANCECONNECT_FIRST_VISIT)
        if err.code in (ErrorCode.FRANCECONNECT_LINK_NOT_FOUND, ErrorCode.ACCOUNT_UNAVAILABLE):
            return refused(err.code)
        return form.refused(
            paths.FRANCECONNECT_BIRTHDATE,
            errors_of(err, {ErrorCode.BIRTHDATE_INCORRECT: "child_birthdate"}),
        )
    return response


@router.get(paths.FRANCECONNECT_BLOCKED)
async def blocked_page(request: Request, pool: Pool, temporal: Temporal):
    at = await _at_step(request, temporal, LinkStep.BIRTHDATE_BLOCKED)
    if isinstance(at, Response):
        return at
    link_id, status = at
    view = await view_with_correction(pool, link_id, status)
    code = ErrorCode.BIRTHDATE_BLOCKED
    return render(
        request,
        "franceconnect/blocked.html",
        _context(
            "Date de naissance refusée",
            3,
            status,
            view=view,
            blocked_code=code.value,
            blocked_message=code.message,
        ),
    )


@router.get(paths.FRANCECONNECT_ENDED)
async def ended_page(request: Request, temporal: Temporal):
    link_id = await _link(request)
    if link_id is None:
        return refused(ErrorCode.FRANCECONNECT_LINK_NOT_FOUND)
    try:
        status = await LINK.status(temporal, link_id)
        code = ended_code(status)
    except DomainError as err:
        code = err.code
    else:
        if status.step not in (LinkStep.CODE_LOCKED, LinkStep.EXPIRED, LinkStep.REPLACED):
            return redirect(page_of(status.step))
    return render(
        request,
        "franceconnect/refused.html",
        {"title": "Première connexion interrompue", "code": code},
    )
