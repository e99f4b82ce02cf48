"""Lost identifier and lost password as pages (DESIGN §3.6, §4; FAQ 4, 5).

Every request gets the same answer whether or not an account matches, as in
the JSON flow (`api.routers.recovery`, whose functions these pages call):

    LOST_IDENTIFIER        by email or by SMS -> LOST_IDENTIFIER_SENT
    LOST_PASSWORD          by email           -> LOST_PASSWORD_SENT (then the link's page,
                                                 `api.routers.recovery`, rendered here)
                           by SMS             -> the code page, bound to this browser
                                                 -> the new password -> LOST_PASSWORD_DONE

The person is never signed in by these pages: the last one leads to sign-in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Cookie, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.deps import Pool, Temporal, request_client_ip
from api.process_binding import BrowserBinding
from api.process_calls import six_digit_code
from api.routers.recovery import (
    CODE_RESENT,
    IDENTIFIER_BY_EMAIL,
    IDENTIFIER_BY_SMS,
    PASSWORD_BY_EMAIL,
    PASSWORD_BY_SMS,
    IdentifierByEmail,
    IdentifierBySms,
    PasswordByEmail,
    PasswordBySms,
    check_reset_code,
    choose_new_password,
    request_identifier,
    request_password_reset,
    resend_reset_code,
    reset_status_of,
)
from api.web import paths
from api.web.activation import password_rules
from api.web.formatting import duration_in_words
from api.web.forms import (
    FieldError,
    FormState,
    errors_of,
    named,
    notice,
    read_form,
    redirect,
    refusal_elsewhere,
    render,
    validation_errors,
)
from educonnect import policies
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.recovery import PasswordResetStatus, PasswordResetStep, RecoveryChannel
from workflows.password_reset import workflow_id

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

IDENTIFIER_FORM = "identifiant-oublie"
PASSWORD_FORM = "mot-de-passe-oublie"
CODE_FORM = "mot-de-passe-oublie-code"
NEW_PASSWORD_FORM = "mot-de-passe-oublie-nouveau"
DONE_FORM = "mot-de-passe-modifie"

LABELS = {
    "email": "Adresse électronique",
    "mobile": "Numéro de téléphone mobile",
    "identifier": "Identifiant",
    "sms_identifier": "Identifiant",
    "code": "Code reçu par SMS",
    "password": "Nouveau mot de passe",
    "password_confirmation": "Confirmer le nouveau mot de passe",
}

SMS_STEPS = ("Votre demande", "Le code reçu par SMS", "Votre nouveau mot de passe")

# The page's own cookie for the request it made by SMS (the JSON routes have theirs).
BROWSER = BrowserBinding(
    "educonnect_reset",
    paths.LOST_PASSWORD_BY_SMS,
    policies.PASSWORD_RESET_SMS_VALIDITY,
    not_found=ErrorCode.RESET_NOT_FOUND,
)

# The refusals that end the SMS way: said on the first page, where one starts again.
ENDED = (
    ErrorCode.RESET_NOT_FOUND,
    ErrorCode.RESET_EXPIRED,
    ErrorCode.RESET_COMPLETED,
    ErrorCode.SMS_CODE_LOCKED,
)


def _sent_messages() -> dict[str, str]:
    return {"courriel": IDENTIFIER_BY_EMAIL, "sms": IDENTIFIER_BY_SMS}


# --- lost identifier ------------------------------------------------------------------------


@router.get(paths.LOST_IDENTIFIER)
async def identifier_page(request: Request):
    return render(
        request, "recovery/identifier.html", {"title": "Identifiant oublié"}, form=IDENTIFIER_FORM
    )


async def _identifier_request(request: Request, pool, temporal, channel: RecoveryChannel):
    field = "email" if channel == RecoveryChannel.EMAIL else "mobile"
    form = await read_form(request, IDENTIFIER_FORM)
    if not form.csrf_ok:
        return form.expired(paths.LOST_IDENTIFIER)
    model = IdentifierByEmail if channel == RecoveryChannel.EMAIL else IdentifierBySms
    try:
        model.model_validate({field: form.get(field).strip()})
    except ValidationError as exc:
        return form.refused(
            paths.LOST_IDENTIFIER, named(validation_errors(exc, form.values), LABELS)
        )
    try:
        await request_identifier(
            pool, temporal, channel, form.get(field), request_client_ip(request)
        )
    except DomainError as err:
        code_fields = {ErrorCode.EMAIL_INVALID: "email", ErrorCode.PHONE_INVALID: "mobile"}
        return form.refused(paths.LOST_IDENTIFIER, named(errors_of(err, code_fields), LABELS))
    way = "courriel" if channel == RecoveryChannel.EMAIL else "sms"
    return redirect(f"{paths.LOST_IDENTIFIER_SENT}?par={way}")


@router.post(paths.LOST_IDENTIFIER_BY_EMAIL)
async def identifier_by_email(request: Request, pool: Pool, temporal: Temporal):
    return await _identifier_request(request, pool, temporal, RecoveryChannel.EMAIL)


@router.post(paths.LOST_IDENTIFIER_BY_SMS)
async def identifier_by_sms(request: Request, pool: Pool, temporal: Temporal):
    return await _identifier_request(request, pool, temporal, RecoveryChannel.SMS)


@router.get(paths.LOST_IDENTIFIER_SENT)
async def identifier_sent(request: Request, par: str = "courriel"):
    return render(
        request,
        "recovery/sent.html",
        {
            "title": "Demande envoyée",
            "text": _sent_messages().get(par, IDENTIFIER_BY_EMAIL),
            "by_sms": par == "sms",
            "again": paths.LOST_IDENTIFIER,
        },
    )


# --- lost password: the request -------------------------------------------------------------


@router.get(paths.LOST_PASSWORD)
async def password_page(request: Request):
    return render(
        request,
        "recovery/password.html",
        {
            "title": "Mot de passe oublié",
            "link_validity": duration_in_words(policies.PASSWORD_RESET_LINK_VALIDITY),
            "code_validity": duration_in_words(policies.SMS_CODE_VALIDITY),
            "code_digits": policies.SMS_CODE_DIGITS,
        },
        form=PASSWORD_FORM,
    )


async def _password_request(request: Request, pool, temporal, channel: RecoveryChannel):
    by_email = channel == RecoveryChannel.EMAIL
    field = "email" if by_email else "mobile"
    # The two forms share a page: the SMS form's identifier has a name of its own.
    identifier_field = "identifier" if by_email else "sms_identifier"
    form = await read_form(request, PASSWORD_FORM)
    if not form.csrf_ok:
        return form.expired(paths.LOST_PASSWORD)
    model = PasswordByEmail if by_email else PasswordBySms
    typed = {"identifier": form.get(identifier_field).strip(), field: form.get(field).strip()}
    try:
        model.model_validate(typed)
    except ValidationError as exc:
        errors = validation_errors(exc, typed)
        for e in errors:
            e.field = identifier_field if e.field == "identifier" else e.field
        return form.refused(paths.LOST_PASSWORD, named(errors, LABELS))
    by_sms = channel == RecoveryChannel.SMS
    response = redirect(paths.LOST_PASSWORD_SENT)
    try:
        started = await request_password_reset(
            pool,
            temporal,
            channel,
            typed["identifier"],
            typed[field],
            request_client_ip(request),
            response=response if by_sms else None,
            binding=BROWSER,
        )
    except DomainError as err:
        code_fields = {
            ErrorCode.EMAIL_INVALID: "email",
            ErrorCode.PHONE_INVALID: "mobile",
        }
        return form.refused(paths.LOST_PASSWORD, named(errors_of(err, code_fields), LABELS))
    if by_sms:
        response.headers["location"] = paths.lost_password_code(started.reset_id)
    return response


@router.post(paths.LOST_PASSWORD_BY_EMAIL)
async def password_by_email(request: Request, pool: Pool, temporal: Temporal):
    return await _password_request(request, pool, temporal, RecoveryChannel.EMAIL)


@router.post(paths.LOST_PASSWORD_BY_SMS)
async def password_by_sms(request: Request, pool: Pool, temporal: Temporal):
    return await _password_request(request, pool, temporal, RecoveryChannel.SMS)


@router.get(paths.LOST_PASSWORD_SENT)
async def password_sent(request: Request):
    return render(
        request,
        "recovery/sent.html",
        {
            "title": "Demande envoyée",
            "text": PASSWORD_BY_EMAIL,
            "by_sms": False,
            "again": paths.LOST_PASSWORD,
        },
    )


# --- lost password: the SMS way ----------------------------------------------------------------

ResetToken = Annotated[str | None, Cookie(alias=BROWSER.cookie)]


async def _reset_at(
    request: Request, pool, temporal, reset_id: str, token: str | None, step: PasswordResetStep
) -> PasswordResetStatus | Response:
    """The request's status if this browser made it and it is at `step`;
    otherwise where to go: its step's page, or the first page saying why."""
    try:
        key = uuid.UUID(reset_id)
        await BROWSER.require(pool, workflow_id(key), token)
        status = await reset_status_of(temporal, key)
    except (ValueError, DomainError) as err:
        code = err.code if isinstance(err, DomainError) else ErrorCode.RESET_NOT_FOUND
        return refusal_elsewhere(paths.LOST_PASSWORD, PASSWORD_FORM, DomainError(code))
    if status.step == step:
        return status
    if status.step == PasswordResetStep.AWAITING_CODE:
        return redirect(paths.lost_password_code(key))
    if status.step == PasswordResetStep.NEW_PASSWORD:
        return redirect(paths.lost_password_new(key))
    refusal = {
        PasswordResetStep.COMPLETED: ErrorCode.RESET_COMPLETED,
        PasswordResetStep.CODE_LOCKED: ErrorCode.SMS_CODE_LOCKED,
    }.get(status.step, ErrorCode.RESET_EXPIRED)
    return refusal_elsewhere(paths.LOST_PASSWORD, PASSWORD_FORM, DomainError(refusal))


def _ended(err: DomainError) -> Response | None:
    if err.code in ENDED:
        return refusal_elsewhere(paths.LOST_PASSWORD, PASSWORD_FORM, err)
    return None


@router.get(paths.LOST_PASSWORD_BY_SMS + "/{reset_id}")
async def code_page(
    request: Request, reset_id: str, pool: Pool, temporal: Temporal, token: ResetToken = None
):
    status = await _reset_at(
        request, pool, temporal, reset_id, token, PasswordResetStep.AWAITING_CODE
    )
    if isinstance(status, Response):
        return status
    code = status.code
    now = datetime.now(UTC)
    wait = 0  # seconds before "Renvoyer un code" may be used
    if code is None:  # the first code is on its way
        wait = int(policies.SMS_RESEND_COOLDOWN.total_seconds())
    elif code.resend_available_at and code.resend_available_at > now:
        wait = int((code.resend_available_at - now).total_seconds()) + 1
    return render(
        request,
        "recovery/code.html",
        {
            "title": "Saisir le code reçu par SMS",
            "steps": SMS_STEPS,
            "reset_id": reset_id,
            "code": code,
            "code_hint": _code_hint(code),
            "sent_text": PASSWORD_BY_SMS,
            "resend_wait": wait,
            "can_resend": code is None or code.sends_left > 0,
        },
        form=CODE_FORM,
    )


def _code_hint(code) -> str:
    hint = f"{policies.SMS_CODE_DIGITS} chiffres, par exemple 123456."
    if code and code.attempts_left < policies.SMS_CODE_MAX_FAILURES:
        left = code.attempts_left
        hint += f" Il vous reste {left} essai{'s' if left > 1 else ''}."
    return hint


@router.post(paths.LOST_PASSWORD_BY_SMS + "/{reset_id}")
async def code_submit(
    request: Request, reset_id: str, pool: Pool, temporal: Temporal, token: ResetToken = None
):
    here = paths.lost_password_code(reset_id)
    form = await read_form(request, CODE_FORM, secret_fields=("code",))
    if not form.csrf_ok:
        return form.expired(here)
    status = await _reset_at(
        request, pool, temporal, reset_id, token, PasswordResetStep.AWAITING_CODE
    )
    if isinstance(status, Response):
        return status
    try:
        typed = six_digit_code(form.get("code"))
        await check_reset_code(pool, temporal, uuid.UUID(reset_id), typed)
    except DomainError as err:
        return _ended(err) or form.refused(here, named(errors_of(err, {err.code: "code"}), LABELS))
    return redirect(paths.lost_password_new(reset_id))


@router.post(paths.LOST_PASSWORD_BY_SMS + "/{reset_id}/renvoyer")
async def code_resend(
    request: Request, reset_id: str, pool: Pool, temporal: Temporal, token: ResetToken = None
):
    here = paths.lost_password_code(reset_id)
    form = await read_form(request, CODE_FORM)
    if not form.csrf_ok:
        return form.expired(here)
    status = await _reset_at(
        request, pool, temporal, reset_id, token, PasswordResetStep.AWAITING_CODE
    )
    if isinstance(status, Response):
        return status
    try:
        await resend_reset_code(temporal, uuid.UUID(reset_id))
    except DomainError as err:
        return _ended(err) or form.refused(here, named(errors_of(err), LABELS))
    return notice(here, CODE_FORM, CODE_RESENT)


@router.get(paths.LOST_PASSWORD_BY_SMS + "/{reset_id}/nouveau-mot-de-passe")
async def new_password_page(
    request: Request, reset_id: str, pool: Pool, temporal: Temporal, token: ResetToken = None
):
    status = await _reset_at(
        request, pool, temporal, reset_id, token, PasswordResetStep.NEW_PASSWORD
    )
    if isinstance(status, Response):
        return status
    return render(
        request,
        "recovery/new_password.html",
        {
            "title": "Choisir un nouveau mot de passe",
            "steps": SMS_STEPS,
            "action": paths.lost_password_new(reset_id),
            "password_rules": password_rules(),
            "checked": True,
        },
        form=NEW_PASSWORD_FORM,
    )


@router.post(paths.LOST_PASSWORD_BY_SMS + "/{reset_id}/nouveau-mot-de-passe")
async def new_password_submit(
    request: Request, reset_id: str, pool: Pool, temporal: Temporal, token: ResetToken = None
):
    here = paths.lost_password_new(reset_id)
    form = await read_form(
        request, NEW_PASSWORD_FORM, secret_fields=("password", "password_confirmation")
    )
    if not form.csrf_ok:
        return form.expired(here)
    status = await _reset_at(
        request, pool, temporal, reset_id, token, PasswordResetStep.NEW_PASSWORD
    )
    if isinstance(status, Response):
        return status
    try:
        done = await choose_new_password(
            pool,
            temporal,
            uuid.UUID(reset_id),
            form.get("password"),
            form.get("password_confirmation"),
        )
    except DomainError as err:
        if err.code in ENDED:
            return refusal_elsewhere(paths.LOST_PASSWORD, PASSWORD_FORM, err)
        return form.refused(
            here, errors_of(err, {ErrorCode.PASSWORD_MISMATCH: "password_confirmation"})
        )
    return notice(paths.LOST_PASSWORD_DONE, DONE_FORM, done.message)


@router.get(paths.LOST_PASSWORD_DONE)
async def password_done(request: Request):
    return render(request, "recovery/done.html", {"title": "Mot de passe modifié"}, form=DONE_FORM)


# --- the page of the email's link (its routes: api.routers.recovery) ------------------------


def link_password_page(
    jeton: str, errors: list[FieldError] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """The link's form: a new password, the policy's rules listed. The link's
    secret token, in a hidden field, plays the CSRF token's part (no other
    site knows it); a refusal is shown on the answer itself (422), since
    redirecting would put the token in an address."""
    from api.web.forms import templates

    state = FormState(form="lien", errors=errors or [])
    if errors:
        state.code = errors[0].code
    html = templates.env.get_template("recovery/link_password.html").render(
        title="Choisir un nouveau mot de passe",
        jeton=jeton,
        form=state,
        password_rules=password_rules(),
        action=paths.PASSWORD_RESET_LINK,
    )
    return HTMLResponse(html, status_code=status_code)
