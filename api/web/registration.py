"""Self-registration by SMS as pages, "Je n'ai pas de compte" (DESIGN §3.2,
FAQ 2.1): one page per step of the workflow `sms-registration/<uuid>`, each
built from its status, through the functions the JSON routes call
(`api.routers.registration`).

    (start)           -> names and mobile           SMS_REGISTRATION
    awaiting_code     -> the code received by SMS   SMS_REGISTRATION_CODE ("Renvoyer le code")
    birthdate         -> a child's birthdate        SMS_REGISTRATION_BIRTHDATE
    birthdate_blocked -> the blocked page           SMS_REGISTRATION_BLOCKED (-> the correction form)
    password          -> the password               SMS_REGISTRATION_PASSWORD
    completed         -> the new identifier         SMS_REGISTRATION_WELCOME
    code_locked, account_exists, expired -> why it ended   SMS_REGISTRATION_ENDED

The attempt is bound to the browser that started it (its cookie, scoped to
`/inscription/<id>` and to `/registration/<id>` where the JSON correction form
lives): another browser holding the address is sent back to the start, as for
an unknown attempt. The pages say the same whether or not the names and
number matched a guardian record (no enumeration)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.deps import Pool, Temporal
from api.routers.registration import (
    BROWSER,
    STARTED_MESSAGE,
    PasswordRequest,
    RegistrationView,
    StartRequest,
    _refusal_for,
    check_birthdate,
    check_code,
    create_account,
    registration_view,
    resend_code_of,
    start_registration,
)
from api.web import paths
from api.web.activation import attempts_hint, password_rules
from api.web.forms import (
    FieldError,
    errors_of,
    notice,
    read_form,
    redirect,
    refusal_elsewhere,
    render,
    typed_date,
    validation_errors,
)
from educonnect import policies
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.registration import RegistrationStatus, RegistrationStep

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

STEPS = (
    "Vos coordonnées",
    "Code reçu par SMS",
    "Date de naissance d’un enfant",
    "Mot de passe",
    "Votre identifiant",
)

START_FORM = "inscription"
CODE_FORM = "inscription-code"
BIRTHDATE_FORM = "inscription-naissance"
PASSWORD_FORM = "inscription-mot-de-passe"
REFRESH_SECONDS = 30  # the blocked page asks again this often when JavaScript is on

STEP_PAGES = {
    RegistrationStep.AWAITING_CODE: paths.SMS_REGISTRATION_CODE,
    RegistrationStep.BIRTHDATE: paths.SMS_REGISTRATION_BIRTHDATE,
    RegistrationStep.BIRTHDATE_BLOCKED: paths.SMS_REGISTRATION_BLOCKED,
    RegistrationStep.PASSWORD: paths.SMS_REGISTRATION_PASSWORD,
    RegistrationStep.COMPLETED: paths.SMS_REGISTRATION_WELCOME,
    RegistrationStep.CODE_LOCKED: paths.SMS_REGISTRATION_ENDED,
    RegistrationStep.ACCOUNT_EXISTS: paths.SMS_REGISTRATION_ENDED,
    RegistrationStep.EXPIRED: paths.SMS_REGISTRATION_ENDED,
}

# A refusal meaning the attempt is no longer at the form's step: its page says where it is.
MOVED_ON = frozenset(
    {
        ErrorCode.REGISTRATION_WRONG_STEP,
        ErrorCode.REGISTRATION_EXPIRED,
        ErrorCode.REGISTRATION_COMPLETED,
        ErrorCode.REGISTRATION_ACCOUNT_EXISTS,
        ErrorCode.SMS_CODE_LOCKED,
        ErrorCode.BIRTHDATE_BLOCKED,
    }
)


def page_of(registration_id: uuid.UUID, step: RegistrationStep) -> str:
    return STEP_PAGES[step].format(registration_id=registration_id)


def _page(template: str, registration_id: uuid.UUID) -> str:
    return template.format(registration_id=registration_id)


def _key(registration_id: str) -> uuid.UUID | None:
    """The attempt's id in the address; None when it is not one (then: unknown)."""
    try:
        return uuid.UUID(registration_id)
    except ValueError:
        return None


def _browser(request: Request) -> str | None:
    return request.cookies.get(BROWSER.cookie)


def _restart(err: DomainError) -> Response:
    """Back to the start, saying why (unknown attempt, another browser's)."""
    return refusal_elsewhere(paths.SMS_REGISTRATION, START_FORM, err)


async def _at(
    request: Request, pool, temporal, registration_id: uuid.UUID, *steps: RegistrationStep
) -> RegistrationView | Response:
    """The attempt's view if it is at one of `steps`; otherwise where to go."""
    try:
        view = await registration_view(pool, temporal, registration_id, _browser(request))
    except DomainError as err:
        return _restart(err)
    if view.step not in steps:
        return redirect(page_of(registration_id, view.step))
    return view


def _after(registration_id: uuid.UUID, err: DomainError, form, page: str, fields=None) -> Response:
    """A refusal of a step's form: elsewhere when the attempt moved on or is
    unknown; else back to the form, at its field."""
    if err.code in MOVED_ON:
        return redirect(page)  # its GET sends on to the step's page, which says why
    if err.code == ErrorCode.REGISTRATION_NOT_FOUND:
        return _restart(err)
    return form.refused(page, errors_of(err, fields))


def _seconds_until(moment: datetime | None) -> int:
    if moment is None:
        return 0
    return max(0, int((moment - datetime.now(UTC)).total_seconds() + 0.999))


# --- names and mobile ------------------------------------------------------------------------


@router.get(paths.SMS_REGISTRATION)
async def start_page(request: Request):
    return render(
        request,
        "registration/start.html",
        {
            "title": "Je n’ai pas de compte",
            "steps": STEPS,
            "code_digits": policies.SMS_CODE_DIGITS,
        },
        form=START_FORM,
    )


@router.post(paths.SMS_REGISTRATION)
async def start_submit(request: Request, pool: Pool, temporal: Temporal):
    form = await read_form(request, START_FORM)
    if not form.csrf_ok:
        return form.expired(paths.SMS_REGISTRATION)
    try:
        body = StartRequest(
            last_name=form.get("last_name"),
            first_name=form.get("first_name"),
            mobile=form.get("mobile"),
        )
    except ValidationError as exc:
        return form.refused(paths.SMS_REGISTRATION, validation_errors(exc, form.values))
    response = redirect(paths.SMS_REGISTRATION)  # its location is set once the id is known
    try:
        registration_id = await start_registration(
            pool, temporal, response, body, also_under=(paths.SMS_REGISTRATION,)
        )
    except DomainError as err:
        return form.refused(
            paths.SMS_REGISTRATION, errors_of(err, {ErrorCode.PHONE_INVALID: "mobile"})
        )
    response.headers["location"] = _page(paths.SMS_REGISTRATION_CODE, registration_id)
    return response


# --- the code received by SMS ----------------------------------------------------------------


@router.get(paths.SMS_REGISTRATION_CODE)
async def code_page(registration_id: str, request: Request, pool: Pool, temporal: Temporal):
    rid = _key(registration_id)
    if rid is None:
        return _restart(DomainError(ErrorCode.REGISTRATION_NOT_FOUND))
    view = await _at(request, pool, temporal, rid, RegistrationStep.AWAITING_CODE)
    if isinstance(view, Response):
        return view
    code = view.code
    return render(
        request,
        "registration/code.html",
        {
            "title": "Code reçu par SMS",
            "steps": STEPS,
            "view": view,
            "started_message": STARTED_MESSAGE,
            "code_digits": policies.SMS_CODE_DIGITS,
            "max_failures": policies.SMS_CODE_MAX_FAILURES,
            "resend_wait": _seconds_until(code.resend_available_at) if code else 0,
            "can_resend": code is not None and code.sends_left > 0,
            "action": _page(paths.SMS_REGISTRATION_CODE, rid),
            "resend_action": _page(paths.SMS_REGISTRATION_RESEND, rid),
        },
        form=CODE_FORM,
    )


@router.post(paths.SMS_REGISTRATION_CODE)
async def code_submit(registration_id: str, request: Request, pool: Pool, temporal: Temporal):
    rid = _key(registration_id)
    if rid is None:
        return _restart(DomainError(ErrorCode.REGISTRATION_NOT_FOUND))
    page = _page(paths.SMS_REGISTRATION_CODE, rid)
    form = await read_form(request, CODE_FORM)
    if not form.csrf_ok:
        return form.expired(page)
    try:
        view = await check_code(pool, temporal, rid, _browser(request), form.get("code"))
    except DomainError as err:
        return _after(
            rid,
            err,
            form,
            page,
            {ErrorCode.SMS_CODE_EXPIRED: "code", ErrorCode.SMS_CODE_ALREADY_USED: "code"},
        )
    return redirect(page_of(rid, view.step))


@router.post(paths.SMS_REGISTRATION_RESEND)
async def code_resend(registration_id: str, request: Request, pool: Pool, temporal: Temporal):
    rid = _key(registration_id)
    if rid is None:
        return _restart(DomainError(ErrorCode.REGISTRATION_NOT_FOUND))
    page = _page(paths.SMS_REGISTRATION_CODE, rid)
    form = await read_form(request, CODE_FORM)
    if not form.csrf_ok:
        return form.expired(page)
    try:
        view = await resend_code_of(pool, temporal, rid, _browser(request))
    except DomainError as err:
        return _after(rid, err, form, page)
    return notice(page, CODE_FORM, view.message or "")


# --- a child's birthdate ---------------------------------------------------------------------


@router.get(paths.SMS_REGISTRATION_BIRTHDATE)
async def birthdate_page(registration_id: str, request: Request, pool: Pool, temporal: Temporal):
    rid = _key(registration_id)
    if rid is None:
        return _restart(DomainError(ErrorCode.REGISTRATION_NOT_FOUND))
    view = await _at(request, pool, temporal, rid, RegistrationStep.BIRTHDATE)
    if isinstance(view, Response):
        return view
    return render(
        request,
        "registration/birthdate.html",
        {
            "title": "Date de naissance d’un enfant",
            "steps": STEPS,
            "attempts_hint": attempts_hint(view.birthdate_attempts_left),
            "action": _page(paths.SMS_REGISTRATION_BIRTHDATE, rid),
        },
        form=BIRTHDATE_FORM,
    )


@router.post(paths.SMS_REGISTRATION_BIRTHDATE)
async def birthdate_submit(registration_id: str, request: Request, pool: Pool, temporal: Temporal):
    rid = _key(registration_id)
    if rid is None:
        return _restart(DomainError(ErrorCode.REGISTRATION_NOT_FOUND))
    page = _page(paths.SMS_REGISTRATION_BIRTHDATE, rid)
    form = await read_form(request, BIRTHDATE_FORM)
    if not form.csrf_ok:
        return form.expired(page)
    errors: list[FieldError] = []
    birthdate = typed_date(form, "birthdate", errors)
    if birthdate is None:
        if not errors:
            code = ErrorCode.INVALID_INPUT
            errors = [FieldError("birthdate", code.message, code.value)]
        return form.refused(page, errors)
    try:
        view = await check_birthdate(pool, temporal, rid, _browser(request), birthdate)
    except DomainError as err:
        return _after(rid, err, form, page)
    return redirect(page_of(rid, view.step))


@router.get(paths.SMS_REGISTRATION_BLOCKED)
async def blocked_page(registration_id: str, request: Request, pool: Pool, temporal: Temporal):
    rid = _key(registration_id)
    if rid is None:
        return _restart(DomainError(ErrorCode.REGISTRATION_NOT_FOUND))
    view = await _at(request, pool, temporal, rid, RegistrationStep.BIRTHDATE_BLOCKED)
    if isinstance(view, Response):
        return view
    code = ErrorCode.BIRTHDATE_BLOCKED
    return render(
        request,
        "registration/blocked.html",
        {
            "title": "Date de naissance refusée",
            "steps": STEPS,
            "view": view,
            "blocked_code": code.value,
            "blocked_message": code.message,
            "refresh_url": _page(paths.SMS_REGISTRATION_BLOCKED, rid),
            "refresh_seconds": REFRESH_SECONDS,
        },
    )


# --- the password; the new identifier ----------------------------------------------------------


@router.get(paths.SMS_REGISTRATION_PASSWORD)
async def password_page(registration_id: str, request: Request, pool: Pool, temporal: Temporal):
    rid = _key(registration_id)
    if rid is None:
        return _restart(DomainError(ErrorCode.REGISTRATION_NOT_FOUND))
    view = await _at(request, pool, temporal, rid, RegistrationStep.PASSWORD)
    if isinstance(view, Response):
        return view
    return render(
        request,
        "registration/password.html",
        {
            "title": "Mot de passe",
            "steps": STEPS,
            "password_rules": password_rules(),
            "action": _page(paths.SMS_REGISTRATION_PASSWORD, rid),
        },
        form=PASSWORD_FORM,
    )


@router.post(paths.SMS_REGISTRATION_PASSWORD)
async def password_submit(registration_id: str, request: Request, pool: Pool, temporal: Temporal):
    rid = _key(registration_id)
    if rid is None:
        return _restart(DomainError(ErrorCode.REGISTRATION_NOT_FOUND))
    page = _page(paths.SMS_REGISTRATION_PASSWORD, rid)
    form = await read_form(
        request, PASSWORD_FORM, secret_fields=("password", "password_confirmation")
    )
    if not form.csrf_ok:
        return form.expired(page)
    try:
        body = PasswordRequest(
            password=form.get("password"), password_confirmation=form.get("password_confirmation")
        )
    except ValidationError as exc:
        return form.refused(page, validation_errors(exc, form.values))
    response = redirect(_page(paths.SMS_REGISTRATION_WELCOME, rid))
    try:
        await create_account(pool, temporal, rid, _browser(request), body, response)
    except DomainError as err:
        return _after(
            rid,
            err,
            form,
            page,
            {ErrorCode.PASSWORD_MISMATCH: "password_confirmation"},
        )
    return response  # signed in: the session cookie rides on the redirect


@router.get(paths.SMS_REGISTRATION_WELCOME)
async def welcome_page(registration_id: str, request: Request, pool: Pool, temporal: Temporal):
    rid = _key(registration_id)
    if rid is None:
        return _restart(DomainError(ErrorCode.REGISTRATION_NOT_FOUND))
    view = await _at(request, pool, temporal, rid, RegistrationStep.COMPLETED)
    if isinstance(view, Response):
        return view
    return render(
        request,
        "registration/welcome.html",
        {"title": "Votre compte est créé", "steps": STEPS, "identifier": view.identifier},
    )


@router.get(paths.SMS_REGISTRATION_ENDED)
async def ended_page(registration_id: str, request: Request, pool: Pool, temporal: Temporal):
    rid = _key(registration_id)
    if rid is None:
        return _restart(DomainError(ErrorCode.REGISTRATION_NOT_FOUND))
    view = await _at(
        request,
        pool,
        temporal,
        rid,
        RegistrationStep.CODE_LOCKED,
        RegistrationStep.ACCOUNT_EXISTS,
        RegistrationStep.EXPIRED,
    )
    if isinstance(view, Response):
        return view
    status = RegistrationStatus(
        step=view.step, step_label=view.step_label, birthdate_attempts_left=0
    )
    code = _refusal_for(status)
    return render(
        request,
        "registration/ended.html",
        {
            "title": "Inscription interrompue",
            "code": code.value,
            "message": code.message,
            "account_exists": view.step == RegistrationStep.ACCOUNT_EXISTS,
        },
    )
