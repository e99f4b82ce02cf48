"""The guardian's activation as pages (DESIGN §3.1, FAQ 2.2, 7): one page per
step of the workflow `activation/<account-id>`, each built from its status
query, so that a guardian who signs in days later, on any device, lands on
the step they are at (`page_of`).

    profile               -> "Gérer mon compte"        ACTIVATION_PROFILE
    awaiting_confirmation -> "Activer votre compte"    ACTIVATION_WAITING (resend, change address)
    birthdate_blocked     -> the blocked page          ACTIVATION_BLOCKED (-> the correction form)
    active, expired       -> the end                   ACTIVATION_DONE

The link in the email opens the link page of `api.routers.activation`
(`/activation/confirmation`), shared with the pupil's activation."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.deps import Pool, Temporal, get_pool, require_session
from api.routers.activation import (
    PROCESS,
    ProfileRequest,
    activated_text,
    submit_activation_profile,
)
from api.web import paths
from api.web.forms import (
    FieldError,
    back_home,
    errors_of,
    notice,
    read_form,
    redirect,
    render,
    typed_date,
    validation_errors,
)
from educonnect import policies
from educonnect.account_management import check_new_password, password_context
from educonnect.email_addresses import email_key, normalized_email
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.activation import ActivationStep, EmailCorrection, ResendRequest
from educonnect.passwords import MESSAGES as PASSWORD_RULES

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

STEPS = ("Gérer mon compte", "Activer votre compte", "Accéder à vos services")
REFRESH_SECONDS = 5  # a waiting page asks again this often when JavaScript is on

PROFILE_FORM = "activation-profil"
WAITING_FORM = "activation-lien"

STEP_PAGES = {
    ActivationStep.PROFILE: paths.ACTIVATION_PROFILE,
    ActivationStep.AWAITING_CONFIRMATION: paths.ACTIVATION_WAITING,
    ActivationStep.BIRTHDATE_BLOCKED: paths.ACTIVATION_BLOCKED,
    ActivationStep.ACTIVE: paths.ACTIVATION_DONE,
    ActivationStep.EXPIRED: paths.ACTIVATION_DONE,
}


def page_of(step: ActivationStep) -> str:
    """The page of the step the workflow says the activation is at."""
    return STEP_PAGES[step]


# The rules of the password policy (DESIGN §4), in its own words; the page's
# script ticks the first four as they are met (the others need the family's
# names and birthdates, which the page does not hold).
PASSWORD_RULE_CODES = (
    "password_length",
    "password_characters",
    "password_digit",
    "password_letter",
    "password_identifier",
    "password_name",
    "password_birthdate",
)


def password_rules() -> list[dict[str, str]]:
    return [{"code": code, "message": PASSWORD_RULES[code]} for code in PASSWORD_RULE_CODES]


async def activation_session(request: Request):
    """The activation session (guardian's or pupil's), or None (the page then
    sends the person home)."""
    try:
        return await require_session("activation")(
            get_pool(request), request.cookies.get("educonnect_session")
        )
    except DomainError:
        return None


async def status_at_step(
    request: Request, temporal, process, page_of: Callable[[ActivationStep], str], *steps
):
    """The activation's status if it is at one of `steps`; otherwise where to
    go: the page of its step, or home (no session, no process) saying why."""
    session = await activation_session(request)
    if session is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    try:
        status = await process.status_view(get_pool(request), temporal, session)
    except DomainError as err:
        return back_home(err)
    if status.step not in steps:
        return redirect(page_of(status.step))
    return status


async def _at_step(request: Request, temporal, *steps: ActivationStep):
    return await status_at_step(request, temporal, PROCESS, page_of, *steps)


def email_mismatch(form) -> list[FieldError]:
    """The address typed twice must be the same (the page asks it twice; the process once)."""
    if email_key(form.get("email")) == email_key(form.get("email_confirmation")):
        return []
    code = ErrorCode.EMAIL_MISMATCH
    return [FieldError("email_confirmation", code.message, code.value)]


def attempts_hint(attempts_left: int) -> str:
    if attempts_left >= policies.BIRTHDATE_MAX_ATTEMPTS:
        return f"Vous disposez de {attempts_left} essais."
    return f"Il vous reste {attempts_left} essai{'s' if attempts_left > 1 else ''}."


# --- "Gérer mon compte" ------------------------------------------------------------------


@router.get(paths.ACTIVATION_PROFILE)
async def profile_page(request: Request, temporal: Temporal):
    status = await _at_step(request, temporal, ActivationStep.PROFILE)
    if isinstance(status, Response):
        return status
    return render(
        request,
        "activation/profile.html",
        {
            "title": "Gérer mon compte",
            "status": status,
            "steps": STEPS,
            "password_rules": password_rules(),
            "attempts_hint": attempts_hint(status.attempts_left),
        },
        form=PROFILE_FORM,
    )


@router.post(paths.ACTIVATION_PROFILE)
async def profile_submit(request: Request, pool: Pool, temporal: Temporal):
    form = await read_form(
        request, PROFILE_FORM, secret_fields=("password", "password_confirmation")
    )
    if not form.csrf_ok:
        return form.expired(paths.ACTIVATION_PROFILE)
    session = await activation_session(request)
    if session is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    errors = email_mismatch(form)
    birthdate = typed_date(form, "child_birthdate", errors)
    try:
        body = ProfileRequest.model_validate(
            {
                "password": form.get("password"),
                "password_confirmation": form.get("password_confirmation"),
                "email": form.get("email"),
                "child_birthdate": birthdate,  # None: refused as missing (or said unreadable)
            }
        )
    except ValidationError as exc:
        said = {e.field for e in errors}  # an unreadable date is said once, as such
        more = [e for e in validation_errors(exc, form.values) if e.field not in said]
        return form.refused(paths.ACTIVATION_PROFILE, errors + more)
    if errors:  # the password's rules too, so that one answer says all there is to mend
        try:
            check_new_password(
                body.password,
                body.password_confirmation,
                await password_context(pool, session.account_id),
            )
        except DomainError as err:
            errors = errors_of(err) + errors
        return form.refused(paths.ACTIVATION_PROFILE, errors)
    try:
        view = await submit_activation_profile(pool, temporal, session, body)
    except DomainError as err:
        if err.code == ErrorCode.BIRTHDATE_BLOCKED:
            return redirect(paths.ACTIVATION_BLOCKED)
        if err.code == ErrorCode.WRONG_STEP:  # moved on meanwhile (another tab, another device)
            return redirect(paths.ACTIVATION_PROFILE)
        if err.code in (
            ErrorCode.PROCESS_ENDED,
            ErrorCode.PROCESS_NOT_FOUND,
            ErrorCode.SESSION_REQUIRED,
        ):
            return back_home(err)
        return form.refused(
            paths.ACTIVATION_PROFILE,
            errors_of(
                err,
                {
                    ErrorCode.EMAIL_INVALID: "email",
                    ErrorCode.PASSWORD_MISMATCH: "password_confirmation",
                },
            ),
        )
    return redirect(page_of(view.step))


# --- "Activer votre compte": waiting for the click ------------------------------------------


@router.get(paths.ACTIVATION_WAITING)
async def waiting_page(request: Request, temporal: Temporal):
    status = await _at_step(request, temporal, ActivationStep.AWAITING_CONFIRMATION)
    if isinstance(status, Response):
        return status
    return render(
        request,
        "activation/waiting.html",
        {
            "title": "Activer votre compte",
            "status": status,
            "steps": STEPS,
            "refresh_seconds": REFRESH_SECONDS,
        },
        form=WAITING_FORM,
    )


def link_sent_text(email: str) -> str:
    return f"Un nouveau lien a été envoyé à {email}. L’ancien lien ne fonctionne plus."


def add_link_actions(
    router: APIRouter, process, *, form_name: str, waiting: str, resend: str, change_email: str
) -> None:
    """ "Renvoyer le lien" and "Modifier l'adresse" of a waiting page (the guardian's
    and the pupil's activation): each posts, asks the workflow, then back to `waiting`."""

    @router.post(resend)
    async def resend_link(request: Request, temporal: Temporal):
        form = await read_form(request, form_name)
        if not form.csrf_ok:
            return form.expired(waiting)
        session = await activation_session(request)
        if session is None:
            return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
        try:
            sent = await process.update(
                temporal, session, process.workflow.resend_link, ResendRequest()
            )
        except DomainError as err:
            return form.refused(waiting, errors_of(err))
        return notice(waiting, form_name, link_sent_text(sent.email))

    @router.post(change_email)
    async def correct_email(request: Request, temporal: Temporal):
        form = await read_form(request, form_name)
        if not form.csrf_ok:
            return form.expired(waiting)
        session = await activation_session(request)
        if session is None:
            return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
        if mismatch := email_mismatch(form):
            return form.refused(waiting, mismatch)
        try:
            correction = EmailCorrection(email=normalized_email(form.get("email")))
            sent = await process.update(
                temporal, session, process.workflow.correct_email, correction
            )
        except DomainError as err:
            return form.refused(waiting, errors_of(err, {ErrorCode.EMAIL_INVALID: "email"}))
        return notice(waiting, form_name, link_sent_text(sent.email))


add_link_actions(
    router,
    PROCESS,
    form_name=WAITING_FORM,
    waiting=paths.ACTIVATION_WAITING,
    resend=paths.ACTIVATION_RESEND,
    change_email=paths.ACTIVATION_CHANGE_EMAIL,
)


# --- blocked on the birthdate; the end ---------------------------------------------------------


@router.get(paths.ACTIVATION_BLOCKED)
async def blocked_page(request: Request, temporal: Temporal):
    status = await _at_step(request, temporal, ActivationStep.BIRTHDATE_BLOCKED)
    if isinstance(status, Response):
        return status
    code = ErrorCode.BIRTHDATE_BLOCKED
    return render(
        request,
        "activation/blocked.html",
        {
            "title": "Date de naissance refusée",
            "status": status,
            "steps": STEPS,
            "blocked_code": code.value,
            "blocked_message": code.message,
            "assistance_url": paths.ASSISTANCE_CORRECTION,  # the form's page (api.web.assistance)
            "refresh_seconds": REFRESH_SECONDS * 6,
        },
    )


@router.get(paths.ACTIVATION_DONE)
async def done_page(request: Request, temporal: Temporal):
    status = await _at_step(request, temporal, ActivationStep.ACTIVE, ActivationStep.EXPIRED)
    if isinstance(status, Response):
        return status
    active = status.step == ActivationStep.ACTIVE
    if active:
        context = {"title": "Compte activé", "text": activated_text(status.identifier)}
    else:
        context = {
            "title": "Activation expirée",
            "text": ErrorCode.LINK_EXPIRED.message,
            "code": ErrorCode.LINK_EXPIRED.value,
        }
    return render(request, "activation/done.html", {**context, "active": active, "steps": STEPS})
