"""The pupil's activation as pages (DESIGN §3.4, FAQ 2.4): the steps of the
guardian's (`api.web.activation`) in a pupil's words, each built from the
status of the workflow `pupil-activation/<account-id>`, so that a pupil who
signs in again lands on the step they are at (`page_of`).

    profile               -> "Gérer mon compte"        PUPIL_ACTIVATION_PROFILE
                             (password, own birthdate, the address optional:
                             "Continuer sans adresse" and what it costs)
    awaiting_confirmation -> "Activer votre compte"    PUPIL_ACTIVATION_WAITING
                             (resend, change address, continue without one)
    birthdate_blocked     -> the blocked page          PUPIL_ACTIVATION_BLOCKED
                             (-> the correction of their own birthdate)
    active, expired       -> the end                   PUPIL_ACTIVATION_DONE

The link in the email opens the link page shared with the guardian's
activation (`/activation/confirmation`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.deps import Pool, Temporal
from api.routers.activation import activated_text
from api.routers.pupil_activation import (
    PROCESS,
    PupilProfileRequest,
    continue_without_email,
    submit_pupil_profile,
)
from api.web import paths
from api.web.activation import (
    REFRESH_SECONDS,
    STEPS,
    activation_session,
    add_link_actions,
    attempts_hint,
    email_mismatch,
    password_rules,
    status_at_step,
)
from api.web.forms import (
    back_home,
    errors_of,
    read_form,
    redirect,
    render,
    typed_date,
    validation_errors,
)
from educonnect.account_management import check_new_password, password_context
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.activation import ActivationStep

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

PROFILE_FORM = "activation-eleve-profil"
WAITING_FORM = "activation-eleve-lien"
SKIP_FIELD = "sans_adresse"  # the "Continuer sans adresse" button of the profile form

STEP_PAGES = {
    ActivationStep.PROFILE: paths.PUPIL_ACTIVATION_PROFILE,
    ActivationStep.AWAITING_CONFIRMATION: paths.PUPIL_ACTIVATION_WAITING,
    ActivationStep.BIRTHDATE_BLOCKED: paths.PUPIL_ACTIVATION_BLOCKED,
    ActivationStep.ACTIVE: paths.PUPIL_ACTIVATION_DONE,
    ActivationStep.EXPIRED: paths.PUPIL_ACTIVATION_DONE,
}

# What a pupil gives up without a confirmed address (FAQ 2.4), said before they choose.
WITHOUT_EMAIL_WARNING = (
    "Sans adresse électronique confirmée, vous ne pourrez pas récupérer seul votre identifiant "
    "ou votre mot de passe si vous les oubliez : il faudra vous adresser à votre établissement. "
    "Vous pourrez ajouter une adresse plus tard depuis « Gérer mon compte »."
)


def page_of(step: ActivationStep) -> str:
    """The page of the step the workflow says the pupil's activation is at."""
    return STEP_PAGES[step]


async def _at_step(request: Request, temporal, *steps: ActivationStep):
    """The status if the activation is at one of `steps`; otherwise where to go."""
    return await status_at_step(request, temporal, PROCESS, page_of, *steps)


def _ended(err: DomainError) -> Response | None:
    """Where a refusal that is not about the form sends the pupil, if it is one."""
    if err.code == ErrorCode.BIRTHDATE_BLOCKED:
        return redirect(paths.PUPIL_ACTIVATION_BLOCKED)
    if err.code == ErrorCode.WRONG_STEP:  # moved on meanwhile (another tab, another device)
        return redirect(paths.PUPIL_ACTIVATION_PROFILE)
    if err.code in (ErrorCode.PROCESS_ENDED, ErrorCode.PROCESS_NOT_FOUND):
        return back_home(err)
    return None


# --- "Gérer mon compte" ------------------------------------------------------------------


@router.get(paths.PUPIL_ACTIVATION_PROFILE)
async def profile_page(request: Request, temporal: Temporal):
    status = await _at_step(request, temporal, ActivationStep.PROFILE)
    if isinstance(status, Response):
        return status
    return render(
        request,
        "pupil_activation/profile.html",
        {
            "title": "Gérer mon compte",
            "status": status,
            "steps": STEPS,
            "password_rules": password_rules(),
            "attempts_hint": attempts_hint(status.attempts_left),
            "without_email_warning": WITHOUT_EMAIL_WARNING,
            "skip_field": SKIP_FIELD,
        },
        form=PROFILE_FORM,
    )


@router.post(paths.PUPIL_ACTIVATION_PROFILE)
async def profile_submit(request: Request, pool: Pool, temporal: Temporal):
    form = await read_form(
        request, PROFILE_FORM, secret_fields=("password", "password_confirmation")
    )
    if not form.csrf_ok:
        return form.expired(paths.PUPIL_ACTIVATION_PROFILE)
    session = await activation_session(request)
    if session is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    # "Continuer sans adresse", or "Valider" with the address left empty: no address.
    with_email = not form.get(SKIP_FIELD) and bool(form.get("email").strip())
    errors = email_mismatch(form) if with_email else []
    birthdate = typed_date(form, "birthdate", errors)
    try:
        body = PupilProfileRequest.model_validate(
            {
                "password": form.get("password"),
                "password_confirmation": form.get("password_confirmation"),
                "birthdate": birthdate,  # None: refused as missing (or said unreadable)
                "email": form.get("email") if with_email else None,
            }
        )
    except ValidationError as exc:
        said = {e.field for e in errors}
        more = [e for e in validation_errors(exc, form.values) if e.field not in said]
        return form.refused(paths.PUPIL_ACTIVATION_PROFILE, errors + more)
    if errors:  # the password's rules too: one answer says all there is to mend
        try:
            check_new_password(
                body.password,
                body.password_confirmation,
                await password_context(pool, session.account_id),
            )
        except DomainError as err:
            errors = errors_of(err) + errors
        return form.refused(paths.PUPIL_ACTIVATION_PROFILE, errors)
    try:
        view = await submit_pupil_profile(pool, temporal, session, body)
    except DomainError as err:
        if (elsewhere := _ended(err)) is not None:
            return elsewhere
        return form.refused(
            paths.PUPIL_ACTIVATION_PROFILE,
            errors_of(
                err,
                {
                    ErrorCode.EMAIL_INVALID: "email",
                    ErrorCode.PASSWORD_MISMATCH: "password_confirmation",
                },
            ),
        )
    return redirect(page_of(view.step))


# --- "Activer votre compte": waiting for the click, or going on without an address --------


@router.get(paths.PUPIL_ACTIVATION_WAITING)
async def waiting_page(request: Request, temporal: Temporal):
    status = await _at_step(request, temporal, ActivationStep.AWAITING_CONFIRMATION)
    if isinstance(status, Response):
        return status
    return render(
        request,
        "pupil_activation/waiting.html",
        {
            "title": "Activer votre compte",
            "status": status,
            "steps": STEPS,
            "refresh_seconds": REFRESH_SECONDS,
            "without_email_warning": WITHOUT_EMAIL_WARNING,
        },
        form=WAITING_FORM,
    )


add_link_actions(
    router,
    PROCESS,
    form_name=WAITING_FORM,
    waiting=paths.PUPIL_ACTIVATION_WAITING,
    resend=paths.PUPIL_ACTIVATION_RESEND,
    change_email=paths.PUPIL_ACTIVATION_CHANGE_EMAIL,
)


@router.post(paths.PUPIL_ACTIVATION_SKIP_EMAIL)
async def skip_email(request: Request, temporal: Temporal):
    form = await read_form(request, WAITING_FORM)
    if not form.csrf_ok:
        return form.expired(paths.PUPIL_ACTIVATION_WAITING)
    session = await activation_session(request)
    if session is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    try:
        view = await continue_without_email(temporal, session)
    except DomainError as err:
        if err.code in (ErrorCode.WRONG_STEP, ErrorCode.PROCESS_ENDED):  # clicked meanwhile
            return redirect(paths.PUPIL_ACTIVATION_DONE)
        return form.refused(paths.PUPIL_ACTIVATION_WAITING, errors_of(err))
    return redirect(page_of(view.step))


# --- blocked on the birthdate; the end ---------------------------------------------------------


@router.get(paths.PUPIL_ACTIVATION_BLOCKED)
async def blocked_page(request: Request, temporal: Temporal):
    status = await _at_step(request, temporal, ActivationStep.BIRTHDATE_BLOCKED)
    if isinstance(status, Response):
        return status
    code = ErrorCode.BIRTHDATE_BLOCKED
    return render(
        request,
        "pupil_activation/blocked.html",
        {
            "title": "Date de naissance refusée",
            "status": status,
            "steps": STEPS,
            "blocked_code": code.value,
            "blocked_message": code.message,
            "assistance_url": paths.PUPIL_CORRECTION,  # the form's page (api.web.assistance)
            "refresh_seconds": REFRESH_SECONDS * 6,
        },
    )


@router.get(paths.PUPIL_ACTIVATION_DONE)
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
    return render(
        request,
        "pupil_activation/done.html",
        {**context, "active": active, "steps": STEPS, "status": status},
    )
