"""« Mon compte » as pages (DESIGN §3.8–3.10; FAQ 7–13): the account, the
email change (workflow `email-change/<account-id>`: the pending change with
"Renvoyer le lien" and "Annuler"), the password change, merging another
account, and "Je ne suis pas le représentant légal de cet enfant".

    MY_ACCOUNT                    the landing page: address, identifier, children, actions
    MY_ACCOUNT_EMAIL              the address: its state, the pending change, the form
    MY_ACCOUNT_PASSWORD           current + new twice, the policy's rules listed
    MY_ACCOUNT_MERGE (+ _DONE)    the other account's identifier and password; the result
    MY_ACCOUNT_NOT_MY_CHILD (+ _DONE)  per child: the reason, what happens, then what next
    MY_ACCOUNT_SIGN_IN_AGAIN      the password again when the sign-in is not recent (≤ 15 min)

Each calls the process function its JSON route calls (`api.routers.account`,
`api.routers.merge`). The email's validation link opens the JSON router's
link page (`/account/email/validation`), in the layout of every page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.deps import SESSION_COOKIE, Pool, Temporal, get_pool, request_client_ip
from api.errors import FIELD_MESSAGES
from api.routers.account import (
    AccountView,
    EmailChangeBody,
    PasswordChangeBody,
    account_view,
    cancel_email_change,
    change_account_password,
    request_email_change,
    resend_email_validation,
)
from api.routers.merge import (
    DISPUTE_REASONS,
    MERGE,
    DisputeReason,
    MergeRequest,
    file_not_my_child,
    merge_accounts,
)
from api.routers.sign_in import SignInRequest, SignInStatus, sign_in_with_password
from api.web import paths
from api.web.activation import password_rules
from api.web.forms import (
    FieldError,
    FormState,
    back_home,
    errors_of,
    notice,
    read_form,
    redirect,
    render,
    validation_errors,
)
from educonnect import accounts, sessions
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.merge import MergeStep
from educonnect.policies import RECENT_SIGN_IN_MAX_AGE
from educonnect.sessions import Session

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

ACCOUNT_FORM = "mon-compte"
EMAIL_FORM = "mon-compte-adresse"
PASSWORD_FORM = "mon-compte-mot-de-passe"
MERGE_FORM = "mon-compte-regrouper"
MERGE_DONE_FORM = "mon-compte-regroupement"
NOT_MY_CHILD_FORM = "mon-compte-pas-mon-enfant"
DISPUTE_DONE_FORM = "mon-compte-signalement"
SIGN_IN_AGAIN_FORM = "mon-compte-identite"

# Where "Confirmer mon identité" may lead back to (never an address from elsewhere).
RESUMABLE = {
    paths.MY_ACCOUNT,
    paths.MY_ACCOUNT_EMAIL,
    paths.MY_ACCOUNT_PASSWORD,
    paths.MY_ACCOUNT_MERGE,
}


def not_my_child_path(pupil_id: uuid.UUID | str) -> str:
    return paths.MY_ACCOUNT_NOT_MY_CHILD.format(pupil_id=pupil_id)


def sign_in_again_path(back_to: str) -> str:
    return f"{paths.MY_ACCOUNT_SIGN_IN_AGAIN}?{urlencode({'suite': back_to})}"


async def _session(request: Request) -> Session | None:
    """The portal session of the browser, or None (the page then sends the person home)."""
    token = request.cookies.get(SESSION_COOKIE)
    session = await sessions.find_session(get_pool(request), token) if token else None
    return session if session is not None and session.scope == "portal" else None


async def _recent(request: Request, session: Session) -> bool:
    return await sessions.opened_since(get_pool(request), session.id, RECENT_SIGN_IN_MAX_AGE)


def _sign_in_again(back_to: str) -> Response:
    """The sign-in is not recent: to the page asking the password again, saying why."""
    code = ErrorCode.RECENT_SIGN_IN_REQUIRED
    return redirect(
        sign_in_again_path(back_to),
        FormState(
            form=SIGN_IN_AGAIN_FORM,
            errors=[FieldError(None, code.message, code.value)],
            code=code.value,
        ),
    )


def _recent_notice() -> dict[str, str]:
    code = ErrorCode.RECENT_SIGN_IN_REQUIRED
    return {"recent_code": code.value, "recent_message": code.message}


def _missing(name: str) -> FieldError:
    return FieldError(name, FIELD_MESSAGES["missing"], ErrorCode.INVALID_INPUT.value)


async def _signed_in(request: Request, temporal) -> tuple[Session, AccountView] | Response:
    """The portal session and the account as "Mon compte" shows it; or home, saying why."""
    session = await _session(request)
    if session is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    try:
        return session, await account_view(get_pool(request), temporal, session)
    except DomainError as err:
        return back_home(err)


def _lost_session(err: DomainError) -> bool:
    return err.code in (ErrorCode.SESSION_REQUIRED, ErrorCode.RECENT_SIGN_IN_REQUIRED)


# --- the landing page -----------------------------------------------------------------


@router.get(paths.MY_ACCOUNT)
async def account_page(request: Request, pool: Pool, temporal: Temporal):
    signed_in = await _signed_in(request, temporal)
    if isinstance(signed_in, Response):
        return signed_in
    session, view = signed_in
    children = await accounts.children(pool, session.account_id) if view.kind == "guardian" else []
    return render(
        request,
        "account/index.html",
        {
            "title": "Mon compte",
            "account_page": True,  # the account menu marks its "Mon compte" as the current page
            "account": view,
            "children": children,
            "not_my_child_path": not_my_child_path,
        },
        form=ACCOUNT_FORM,
    )


# --- confirming one's identity (a recent sign-in) ---------------------------------------------


def _resumable(request: Request) -> str:
    back_to = request.query_params.get("suite", paths.MY_ACCOUNT)
    return back_to if back_to in RESUMABLE else paths.MY_ACCOUNT


@router.get(paths.MY_ACCOUNT_SIGN_IN_AGAIN)
async def sign_in_again_page(request: Request, temporal: Temporal):
    signed_in = await _signed_in(request, temporal)
    if isinstance(signed_in, Response):
        return signed_in
    _, view = signed_in
    return render(
        request,
        "account/sign_in_again.html",
        {
            "title": "Confirmer mon identité",
            "account": view,
            "back_to": _resumable(request),
            "max_age_minutes": int(RECENT_SIGN_IN_MAX_AGE.total_seconds() // 60),
        },
        form=SIGN_IN_AGAIN_FORM,
    )


@router.post(paths.MY_ACCOUNT_SIGN_IN_AGAIN)
async def sign_in_again(request: Request, pool: Pool, temporal: Temporal):
    back_to = _resumable(request)
    here = sign_in_again_path(back_to)
    form = await read_form(request, SIGN_IN_AGAIN_FORM, secret_fields=("password",))
    if not form.csrf_ok:
        return form.expired(here)
    signed_in = await _signed_in(request, temporal)
    if isinstance(signed_in, Response):
        return signed_in
    identifier = signed_in[1].identifier
    if not form.get("password"):
        return form.refused(here, [_missing("password")])
    response = notice(
        back_to, _form_of(back_to), "Votre identité est confirmée : vous pouvez continuer."
    )
    try:
        result = await sign_in_with_password(
            pool,
            temporal,
            SignInRequest(identifier=identifier, password=form.get("password")),
            request_client_ip(request),
            response,
            request.cookies.get(SESSION_COOKIE),
        )
    except DomainError as err:
        return form.refused(here, errors_of(err, {ErrorCode.INVALID_CREDENTIALS: "password"}))
    if result.status != SignInStatus.SIGNED_IN:  # the account is no longer active
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    return response


def _form_of(page: str) -> str:
    return {
        paths.MY_ACCOUNT_EMAIL: EMAIL_FORM,
        paths.MY_ACCOUNT_PASSWORD: PASSWORD_FORM,
        paths.MY_ACCOUNT_MERGE: MERGE_FORM,
    }.get(page, ACCOUNT_FORM)


# --- the email address ------------------------------------------------------------------------


@router.get(paths.MY_ACCOUNT_EMAIL)
async def email_page(request: Request, temporal: Temporal):
    signed_in = await _signed_in(request, temporal)
    if isinstance(signed_in, Response):
        return signed_in
    session, view = signed_in
    pending = view.pending_email_change
    resend_later = (
        pending.resend_available_at
        if pending and pending.resend_available_at and pending.resend_available_at > _now()
        else None
    )
    return render(
        request,
        "account/email.html",
        {
            "title": "Mon adresse électronique",
            "account": view,
            "pending": pending,
            "resend_later": resend_later,
            "recent": await _recent(request, session),
            "sign_in_again": sign_in_again_path(paths.MY_ACCOUNT_EMAIL),
            **_recent_notice(),
        },
        form=EMAIL_FORM,
    )


def _now() -> datetime:
    return datetime.now(UTC)


@router.post(paths.MY_ACCOUNT_EMAIL)
async def email_submit(request: Request, pool: Pool, temporal: Temporal):
    form = await read_form(request, EMAIL_FORM)
    if not form.csrf_ok:
        return form.expired(paths.MY_ACCOUNT_EMAIL)
    session = await _session(request)
    if session is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    if not await _recent(request, session):
        return _sign_in_again(paths.MY_ACCOUNT_EMAIL)
    try:
        body = EmailChangeBody(
            email=form.get("email"), email_confirmation=form.get("email_confirmation")
        )
    except ValidationError as exc:
        return form.refused(paths.MY_ACCOUNT_EMAIL, validation_errors(exc, form.values))
    try:
        view = await request_email_change(pool, temporal, session, body)
    except DomainError as err:
        if _lost_session(err):
            return back_home(err)
        return form.refused(
            paths.MY_ACCOUNT_EMAIL,
            errors_of(err, {ErrorCode.EMAIL_INVALID: "email", ErrorCode.EMAIL_UNCHANGED: "email"}),
        )
    return notice(paths.MY_ACCOUNT_EMAIL, EMAIL_FORM, view.message)


@router.post(paths.MY_ACCOUNT_EMAIL_RESEND)
async def email_resend(request: Request, pool: Pool, temporal: Temporal):
    return await _pending_action(request, pool, temporal, resend_email_validation)


@router.post(paths.MY_ACCOUNT_EMAIL_CANCEL)
async def email_cancel(request: Request, pool: Pool, temporal: Temporal):
    return await _pending_action(request, pool, temporal, cancel_email_change)


async def _pending_action(request: Request, pool, temporal, action):
    """ "Renvoyer le lien" or "Annuler la demande", then back to the address page saying what was done."""
    form = await read_form(request, EMAIL_FORM)
    if not form.csrf_ok:
        return form.expired(paths.MY_ACCOUNT_EMAIL)
    session = await _session(request)
    if session is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    try:
        view = await action(pool, temporal, session)
    except DomainError as err:
        if _lost_session(err):
            return back_home(err)
        return form.refused(paths.MY_ACCOUNT_EMAIL, errors_of(err))
    return notice(paths.MY_ACCOUNT_EMAIL, EMAIL_FORM, view.message)


# --- the password -------------------------------------------------------------------------


@router.get(paths.MY_ACCOUNT_PASSWORD)
async def password_page(request: Request, temporal: Temporal):
    signed_in = await _signed_in(request, temporal)
    if isinstance(signed_in, Response):
        return signed_in
    session, view = signed_in
    return render(
        request,
        "account/password.html",
        {
            "title": "Modifier mon mot de passe",
            "account": view,
            "password_rules": password_rules(),
            "recent": await _recent(request, session),
            "sign_in_again": sign_in_again_path(paths.MY_ACCOUNT_PASSWORD),
            **_recent_notice(),
        },
        form=PASSWORD_FORM,
    )


@router.post(paths.MY_ACCOUNT_PASSWORD)
async def password_submit(request: Request, pool: Pool, temporal: Temporal):
    secret = ("current_password", "new_password", "new_password_confirmation")
    form = await read_form(request, PASSWORD_FORM, secret_fields=secret)
    if not form.csrf_ok:
        return form.expired(paths.MY_ACCOUNT_PASSWORD)
    session = await _session(request)
    if session is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    if not await _recent(request, session):
        return _sign_in_again(paths.MY_ACCOUNT_PASSWORD)
    try:
        body = PasswordChangeBody.model_validate({name: form.get(name) for name in secret})
    except ValidationError as exc:
        return form.refused(paths.MY_ACCOUNT_PASSWORD, validation_errors(exc, form.values))
    try:
        changed = await change_account_password(
            pool, temporal, session, body, request_client_ip(request)
        )
    except DomainError as err:
        if _lost_session(err):
            return back_home(err)
        return form.refused(
            paths.MY_ACCOUNT_PASSWORD,
            errors_of(err, {ErrorCode.PASSWORD_MISMATCH: "new_password_confirmation"}),
        )
    return notice(paths.MY_ACCOUNT, ACCOUNT_FORM, changed.message)


# --- merging another account ------------------------------------------------------------------


@router.get(paths.MY_ACCOUNT_MERGE)
async def merge_page(request: Request, temporal: Temporal):
    signed_in = await _signed_in(request, temporal)
    if isinstance(signed_in, Response):
        return signed_in
    session, view = signed_in
    return render(
        request,
        "account/merge.html",
        {
            "title": "Regrouper mes comptes",
            "account": view,
            "recent": await _recent(request, session),
            "sign_in_again": sign_in_again_path(paths.MY_ACCOUNT_MERGE),
            **_recent_notice(),
        },
        form=MERGE_FORM,
    )


@router.post(paths.MY_ACCOUNT_MERGE)
async def merge_submit(request: Request, pool: Pool, temporal: Temporal):
    form = await read_form(request, MERGE_FORM, secret_fields=("password",))
    if not form.csrf_ok:
        return form.expired(paths.MY_ACCOUNT_MERGE)
    session = await _session(request)
    if session is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    if not await _recent(request, session):
        return _sign_in_again(paths.MY_ACCOUNT_MERGE)
    errors = [] if form.get("confirmation") else [_missing("confirmation")]
    try:
        body = MergeRequest(
            identifier=form.get("identifier").strip(), password=form.get("password")
        )
    except ValidationError as exc:
        return form.refused(paths.MY_ACCOUNT_MERGE, validation_errors(exc, form.values) + errors)
    if errors:
        return form.refused(paths.MY_ACCOUNT_MERGE, errors)
    try:
        merged = await merge_accounts(pool, temporal, session, body, request_client_ip(request))
    except DomainError as err:
        if _lost_session(err):
            return back_home(err)
        at_identifier = {
            code: "identifier"
            for code in (
                ErrorCode.MERGE_SAME_ACCOUNT,
                ErrorCode.MERGE_ALREADY_MERGED,
                ErrorCode.MERGE_PUPIL_ACCOUNT,
            )
        }
        return form.refused(paths.MY_ACCOUNT_MERGE, errors_of(err, at_identifier))
    return notice(paths.MY_ACCOUNT_MERGE_DONE, MERGE_DONE_FORM, merged.message)


@router.get(paths.MY_ACCOUNT_MERGE_DONE)
async def merge_done_page(request: Request, temporal: Temporal):
    session = await _session(request)
    if session is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    try:
        status = await MERGE.status(temporal, session.account_id)
    except DomainError:
        return redirect(paths.MY_ACCOUNT_MERGE)
    refusal = status.refusal
    return render(
        request,
        "account/merge_done.html",
        {
            "title": "Regroupement de mes comptes",
            "status": status,
            "done": status.step == MergeStep.MERGED,
            "refusal": {"code": refusal.value, "message": refusal.message} if refusal else None,
        },
        form=MERGE_DONE_FORM,
    )


# --- "Je ne suis pas le représentant légal de cet enfant" --------------------------------------


async def _child(request: Request, session: Session, pupil_id: str):
    try:
        wanted = uuid.UUID(pupil_id)
    except ValueError:
        return None
    children = await accounts.children(get_pool(request), session.account_id)
    return next((c for c in children if c["id"] == wanted), None)


def _child_not_attached() -> Response:
    code = ErrorCode.CHILD_NOT_ATTACHED
    return redirect(
        paths.MY_ACCOUNT,
        FormState(
            form=ACCOUNT_FORM,
            errors=[FieldError(None, code.message, code.value)],
            code=code.value,
        ),
    )


@router.get(paths.MY_ACCOUNT_NOT_MY_CHILD)
async def not_my_child_page(request: Request, pupil_id: str):
    session = await _session(request)
    if session is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    child = await _child(request, session, pupil_id)
    if child is None:
        return _child_not_attached()
    return render(
        request,
        "account/not_my_child.html",
        {
            "title": "Je ne suis pas le représentant légal de cet enfant",
            "child": child,
            "action": not_my_child_path(child["id"]),
            "reasons": [{"value": r.value, "label": label} for r, label in DISPUTE_REASONS.items()],
        },
        form=NOT_MY_CHILD_FORM,
    )


@router.post(paths.MY_ACCOUNT_NOT_MY_CHILD)
async def not_my_child_submit(request: Request, pupil_id: str):
    here = not_my_child_path(pupil_id)
    form = await read_form(request, NOT_MY_CHILD_FORM)
    if not form.csrf_ok:
        return form.expired(here)
    session = await _session(request)
    if session is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    child = await _child(request, session, pupil_id)
    if child is None:
        return _child_not_attached()
    try:
        reason = DisputeReason(form.get("reason"))
    except ValueError:
        return form.refused(here, [_missing("reason")])
    try:
        filed = await file_not_my_child(get_pool(request), session, child["id"], reason)
    except DomainError as err:
        if err.code == ErrorCode.CHILD_NOT_ATTACHED:
            return _child_not_attached()
        return form.refused(here, errors_of(err))
    name = f"{child['first_name']} {child['last_name']}"
    return notice(
        paths.MY_ACCOUNT_NOT_MY_CHILD_DONE, DISPUTE_DONE_FORM, f"{name} : {filed.message}"
    )


@router.get(paths.MY_ACCOUNT_NOT_MY_CHILD_DONE)
async def not_my_child_done_page(request: Request):
    session = await _session(request)
    if session is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    return render(
        request,
        "account/not_my_child_done.html",
        {"title": "Signalement transmis"},
        form=DISPUTE_DONE_FORM,
    )
