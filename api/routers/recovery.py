"""« Identifiant perdu » and « Mot de passe perdu » (DESIGN §3.6, §4; FAQ 4, 5).

Every request gets the same answer, in the same time, whether or not an
account matches: the API only checks the typed values, counts the request
(limits per address, number and IP) and starts a workflow; the workflow looks
for the account and sends — or does not. Nothing here locks an account.

- Lost identifier: workflow `identifier-recovery/<uuid>`, by email (to a
  validated address) or by SMS (to a verified number).
- Lost password: workflow `password-reset/<uuid>`, by email (single-use link,
  valid 1 hour, opening `/recovery/password/link`) or by SMS (6-digit code,
  then the new password under the returned `reset_id`, which only the browser
  that asked may use: `api.process_binding`). The person is not signed in:
  they sign in with the new password.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Cookie, Form, Path, Query, Request, Response
from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy

from api import pages
from api.deps import Pool, Temporal, request_client_ip
from api.email_links import ClickPage, LinkRefused, LinkWords, live_link
from api.errors import PAGE_REFUSAL_RESPONSES, ErrorBody
from api.process_binding import BrowserBinding
from api.process_calls import ProcessCalls, resend_sms_code, six_digit_code, submit_sms_code
from educonnect import pending_passwords, policies
from educonnect.account_management import (
    admit_request,
    check_new_password,
    normalized_identifier,
    password_context,
)
from educonnect.email_addresses import email_key, normalized_email
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.recovery import (
    RESET_LABELS,
    IdentifierRecoveryInput,
    IdentifierRecoveryStep,
    NewPasswordReady,
    PasswordResetDone,
    PasswordResetInput,
    PasswordResetStatus,
    PasswordResetStep,
    RecoveryChannel,
)
from educonnect.models.sms_codes import SmsCodeStatus
from educonnect.phones import e164_mobile
from educonnect.search_attributes import PROCESS_STEP
from educonnect.settings import get_settings
from workflows import identifier_recovery, password_reset
from workflows.identifier_recovery import IdentifierRecoveryWorkflow
from workflows.password_reset import PasswordResetWorkflow

router = APIRouter(prefix="/recovery", tags=["Identifiant ou mot de passe perdu"])

PASSWORD_RESET_PURPOSE = "password_reset"

IDENTIFIER_BY_EMAIL = (
    "Si cette adresse est l'adresse validée d'un compte EduConnect, un courriel contenant votre identifiant "
    "vient d'y être envoyé. Pensez à regarder dans les courriers indésirables."
)
IDENTIFIER_BY_SMS = (
    "Si ce numéro est le numéro de téléphone mobile vérifié d'un compte EduConnect, un SMS contenant votre "
    "identifiant vient d'y être envoyé."
)
PASSWORD_BY_EMAIL = (
    "Si cet identifiant et cette adresse correspondent à un compte EduConnect, un courriel contenant un lien "
    "pour choisir un nouveau mot de passe vient d'y être envoyé. Ce lien est valable une heure et ne peut "
    "servir qu'une fois."
)
PASSWORD_BY_SMS = (
    "Si cet identifiant et ce numéro correspondent à un compte EduConnect, un code à 6 chiffres vient d'être "
    "envoyé par SMS à ce numéro. Saisissez-le pour choisir un nouveau mot de passe."
)

ResetId = Annotated[uuid.UUID, Path(description="Identifiant de la demande, renvoyé au démarrage")]

# Only the browser that asked for the code drives the reset (SMS way).
BROWSER = BrowserBinding(
    "educonnect_reset", f"{router.prefix}/password", policies.PASSWORD_RESET_SMS_VALIDITY,
    not_found=ErrorCode.RESET_NOT_FOUND,
)  # fmt: skip
BrowserToken = Annotated[str | None, Cookie(alias=BROWSER.cookie)]


class IdentifierByEmail(BaseModel):
    email: str = Field(
        min_length=1, max_length=254, description="Adresse électronique validée du compte"
    )


class IdentifierBySms(BaseModel):
    mobile: str = Field(
        min_length=1, max_length=32, description="Téléphone mobile vérifié, ex. 06 12 34 56 78"
    )


class PasswordByEmail(BaseModel):
    identifier: str = Field(
        min_length=1, max_length=64, description="Identifiant, par exemple m.dupont12"
    )
    email: str = Field(
        min_length=1, max_length=254, description="Adresse électronique validée du compte"
    )


class PasswordBySms(BaseModel):
    identifier: str = Field(
        min_length=1, max_length=64, description="Identifiant, par exemple m.dupont12"
    )
    mobile: str = Field(
        min_length=1, max_length=32, description="Téléphone mobile vérifié, ex. 06 12 34 56 78"
    )


class RequestAccepted(BaseModel):
    message: str


class ResetStarted(BaseModel):
    reset_id: uuid.UUID
    message: str


class CodeBody(BaseModel):
    code: str = Field(min_length=1, max_length=20, description="Code à 6 chiffres reçu par SMS")


class NewPasswordBody(BaseModel):
    password: str = Field(max_length=128, description="Nouveau mot de passe")
    password_confirmation: str = Field(max_length=128)


class ResetView(BaseModel):
    reset_id: uuid.UUID
    step: PasswordResetStep
    step_label: str
    code: SmsCodeStatus | None = None
    expires_at: datetime | None = None
    message: str | None = None


class ResetDone(BaseModel):
    identifier: str
    message: str


# --- helpers ------------------------------------------------------------------------------


async def _start_identifier_recovery(
    temporal: Client, channel: RecoveryChannel, contact: str
) -> None:
    await temporal.start_workflow(
        IdentifierRecoveryWorkflow.run,
        IdentifierRecoveryInput(channel=channel, contact=contact),
        id=identifier_recovery.workflow_id(uuid.uuid4()),
        task_queue=get_settings().task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(PROCESS_STEP, IdentifierRecoveryStep.SENDING.value)]
        ),
        static_summary=identifier_recovery.SUMMARY[channel],
    )


async def _start_reset(
    temporal: Client, reset_id: uuid.UUID, channel: RecoveryChannel, identifier: str, contact: str
) -> None:
    first_step = (
        PasswordResetStep.AWAITING_CODE
        if channel == RecoveryChannel.SMS
        else PasswordResetStep.LOOKING_UP
    )
    await temporal.start_workflow(
        PasswordResetWorkflow.run,
        PasswordResetInput(
            reset_id=reset_id, channel=channel, identifier=identifier, contact=contact
        ),
        id=password_reset.workflow_id(reset_id),
        task_queue=get_settings().task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(PROCESS_STEP, first_step.value)]
        ),
        static_summary=password_reset.SUMMARY[channel],
    )


def _refusal_for(status: PasswordResetStatus) -> ErrorCode:
    return {
        PasswordResetStep.COMPLETED: ErrorCode.RESET_COMPLETED,
        PasswordResetStep.CODE_LOCKED: ErrorCode.SMS_CODE_LOCKED,
        PasswordResetStep.EXPIRED: ErrorCode.RESET_EXPIRED,
        PasswordResetStep.NO_MATCH: ErrorCode.RESET_EXPIRED,
    }.get(status.step, ErrorCode.RESET_WRONG_STEP)


RESET = ProcessCalls(
    PasswordResetWorkflow,
    password_reset.workflow_id,
    not_found=ErrorCode.RESET_NOT_FOUND,
    ended=_refusal_for,  # the request ended meanwhile: say how
    invalid_id_not_found=True,
)


async def _bound(pool, reset_id: uuid.UUID, browser: str | None) -> None:
    await BROWSER.require(pool, password_reset.workflow_id(reset_id), browser)


def _require(status: PasswordResetStatus, step: PasswordResetStep) -> None:
    if status.step != step:
        raise DomainError(_refusal_for(status))


def _view(
    reset_id: uuid.UUID, status: PasswordResetStatus, message: str | None = None
) -> ResetView:
    return ResetView(
        reset_id=reset_id,
        step=status.step,
        step_label=RESET_LABELS[status.step],
        code=status.code,
        expires_at=status.expires_at,
        message=message,
    )


def _done_message(identifier: str) -> str:
    return (
        f"Votre mot de passe est modifié. Connectez-vous avec votre identifiant {identifier} et votre nouveau "
        "mot de passe. Pour votre sécurité, toutes les connexions ouvertes à votre compte ont été fermées."
    )


# --- lost identifier -------------------------------------------------------------------------


async def request_identifier(
    pool, temporal: Client, channel: RecoveryChannel, contact: str, client_ip: str
) -> str:
    """Lost identifier (the JSON routes and the page): check the typed address
    or number, count the request, start the workflow; the answer is the same
    whether or not an account matches."""
    if channel == RecoveryChannel.EMAIL:
        email = normalized_email(contact)
        await admit_request(pool, [("email", email_key(email)), ("ip", client_ip)])
        await _start_identifier_recovery(temporal, RecoveryChannel.EMAIL, email)
        return IDENTIFIER_BY_EMAIL
    mobile = e164_mobile(contact)
    await admit_request(pool, [("mobile", mobile), ("ip", client_ip)])
    await _start_identifier_recovery(temporal, RecoveryChannel.SMS, mobile)
    return IDENTIFIER_BY_SMS


@router.post(
    "/identifier/email",
    status_code=202,
    summary="Identifiant perdu : le recevoir par courriel",
    response_model=RequestAccepted,
    responses={422: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def identifier_by_email(
    body: IdentifierByEmail, request: Request, pool: Pool, temporal: Temporal
):
    message = await request_identifier(
        pool, temporal, RecoveryChannel.EMAIL, body.email, request_client_ip(request)
    )
    return RequestAccepted(message=message)


@router.post(
    "/identifier/sms",
    status_code=202,
    summary="Identifiant perdu : le recevoir par SMS",
    response_model=RequestAccepted,
    responses={422: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def identifier_by_sms(
    body: IdentifierBySms, request: Request, pool: Pool, temporal: Temporal
):
    message = await request_identifier(
        pool, temporal, RecoveryChannel.SMS, body.mobile, request_client_ip(request)
    )
    return RequestAccepted(message=message)


# --- lost password: the request ------------------------------------------------------------------


async def request_password_reset(
    pool,
    temporal: Client,
    channel: RecoveryChannel,
    identifier: str,
    contact: str,
    client_ip: str,
    *,
    response: Response | None = None,
    binding: BrowserBinding | None = None,
) -> ResetStarted:
    """Lost password (the JSON routes and the pages): check the typed values,
    count the request, start the workflow; the same answer whether or not an
    account matches. By SMS, the request is bound to this browser (`binding`,
    its cookie set on `response`): only it may type the code."""
    reset_id = uuid.uuid4()
    if channel == RecoveryChannel.EMAIL:
        contact = normalized_email(contact)
        counter, message = ("email", email_key(contact)), PASSWORD_BY_EMAIL
    else:
        contact = e164_mobile(contact)
        counter, message = ("mobile", contact), PASSWORD_BY_SMS
    await admit_request(pool, [counter, ("ip", client_ip)])
    if channel == RecoveryChannel.SMS:
        assert response is not None
        await (binding or BROWSER).bind(
            pool, response, reset_id, password_reset.workflow_id(reset_id)
        )
    await _start_reset(temporal, reset_id, channel, normalized_identifier(identifier), contact)
    return ResetStarted(reset_id=reset_id, message=message)


@router.post(
    "/password/email",
    status_code=202,
    summary="Mot de passe perdu : recevoir un lien par courriel",
    response_model=RequestAccepted,
    responses={422: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def password_by_email(
    body: PasswordByEmail, request: Request, pool: Pool, temporal: Temporal
):
    started = await request_password_reset(
        pool,
        temporal,
        RecoveryChannel.EMAIL,
        body.identifier,
        body.email,
        request_client_ip(request),
    )
    return RequestAccepted(message=started.message)


@router.post(
    "/password/sms",
    status_code=202,
    summary="Mot de passe perdu : recevoir un code par SMS",
    response_model=ResetStarted,
    responses={422: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def password_by_sms(
    body: PasswordBySms, request: Request, response: Response, pool: Pool, temporal: Temporal
):
    return await request_password_reset(
        pool,
        temporal,
        RecoveryChannel.SMS,
        body.identifier,
        body.mobile,
        request_client_ip(request),
        response=response,
    )


# --- lost password: the link (email way) ---------------------------------------------------------

RESET_LINK_WORDS = LinkWords(
    texts={
        ErrorCode.LINK_ALREADY_USED: (
            "Ce lien a déjà été utilisé : votre mot de passe a été modifié. "
            "Connectez-vous avec votre nouveau mot de passe."
        ),
        ErrorCode.LINK_EXPIRED: (
            "Ce lien a expiré (il est valable une heure). "
            "Recommencez avec « Mot de passe perdu » sur l'écran de connexion."
        ),
    }
)

Token = Annotated[str, Query(alias="jeton", min_length=1, max_length=200)]


SIGN_IN_BUTTON = '<p><a class="fr-btn" href="/">Se connecter</a></p>'


def _link_password_page(jeton: str, refused: DomainError | None = None) -> pages.HTMLResponse:
    """The link's form, in the pages' layout (`api.web.recovery`); a refusal at its field."""
    from api.web.forms import errors_of  # the pages import this module
    from api.web.recovery import link_password_page

    if refused is None:
        return link_password_page(jeton)
    code_fields = {ErrorCode.PASSWORD_MISMATCH: "password_confirmation"}
    return link_password_page(jeton, errors_of(refused, code_fields), status_code=422)


@router.get(
    "/password/link",
    summary="Page ouverte depuis le lien « Mot de passe perdu »",
    response_class=pages.HTMLResponse,
    responses=PAGE_REFUSAL_RESPONSES,
)
async def reset_link_page(jeton: Token, pool: Pool):
    try:
        await live_link(pool, jeton, PASSWORD_RESET_PURPOSE, RESET_LINK_WORDS)
    except LinkRefused as refused:
        return refused.page()
    return _link_password_page(jeton)


@router.post(
    "/password/link",
    summary="Enregistrer le nouveau mot de passe (lien reçu par courriel)",
    response_class=pages.HTMLResponse,
    responses=PAGE_REFUSAL_RESPONSES,
)
async def reset_by_link(
    jeton: Annotated[str, Form(min_length=1, max_length=200)],
    password: Annotated[str, Form(max_length=128)],
    password_confirmation: Annotated[str, Form(max_length=128)],
    pool: Pool,
    temporal: Temporal,
):
    try:
        link = await live_link(pool, jeton, PASSWORD_RESET_PURPOSE, RESET_LINK_WORDS)
    except LinkRefused as refused:
        return refused.page()
    try:
        check_new_password(
            password, password_confirmation, await password_context(pool, link["account_id"])
        )
    except DomainError as refused:
        return _link_password_page(jeton, refused)
    await _store_pending_password(pool, link["account_id"], link["process_id"], password)
    page = ClickPage(
        pool,
        jeton,
        PASSWORD_RESET_PURPOSE,
        RESET_LINK_WORDS,
        pending_title="Modification en cours",
        pending_text="Votre nouveau mot de passe est bien reçu ; sa mise en place se termine. "
        "Connectez-vous avec lui dans quelques instants.",
    )
    return await page.confirm(
        temporal.get_workflow_handle_for(PasswordResetWorkflow.run, link["process_id"]),
        PasswordResetWorkflow.submit_new_password,
        NewPasswordReady(link_id=link["id"]),
        status=PasswordResetWorkflow.status,
        counted=lambda status: status.step == PasswordResetStep.COMPLETED,
        done=lambda done: pages.page(
            "Mot de passe modifié", _done_message(done.identifier), extra_html=SIGN_IN_BUTTON
        ),
    )


async def _store_pending_password(
    pool, account_id: uuid.UUID, process_id: str, password: str
) -> None:
    """The new password never enters Temporal: its hash waits here for the workflow."""
    await pending_passwords.keep(pool, account_id, process_id, password)


# --- lost password: the SMS way -----------------------------------------------------------------

CODE_CHECKED = "Code vérifié : choisissez votre nouveau mot de passe."
CODE_RESENT = (
    "Si votre demande correspond à un compte, un nouveau code vous a été envoyé par SMS. "
    "Seul ce dernier code est valable."
)


async def reset_status_of(temporal: Client, reset_id: uuid.UUID) -> PasswordResetStatus:
    return await RESET.status(temporal, reset_id)


async def check_reset_code(
    pool, temporal: Client, reset_id: uuid.UUID, code: str
) -> PasswordResetStatus:
    """The code received by SMS (already read as 6 digits), for a request this
    browser made (the caller checked): a wrong one is refused with the attempts left."""
    _require(await RESET.status(temporal, reset_id), PasswordResetStep.AWAITING_CODE)
    await submit_sms_code(pool, temporal, RESET, reset_id, code)
    return await RESET.status(temporal, reset_id)


async def resend_reset_code(temporal: Client, reset_id: uuid.UUID) -> PasswordResetStatus:
    """A new code (the old one dies), within the process's sends and cooldown."""
    _require(await RESET.status(temporal, reset_id), PasswordResetStep.AWAITING_CODE)
    await resend_sms_code(temporal, RESET, reset_id)
    return await RESET.status(temporal, reset_id)


async def choose_new_password(
    pool, temporal: Client, reset_id: uuid.UUID, password: str, confirmation: str
) -> ResetDone:
    """The new password once the code was verified: checked against the policy,
    its hash kept in PostgreSQL, then the workflow sets it (every session ends)."""
    status = await RESET.status(temporal, reset_id)
    _require(status, PasswordResetStep.NEW_PASSWORD)
    assert status.account_id is not None  # set once the code was verified
    check_new_password(password, confirmation, await password_context(pool, status.account_id))
    await _store_pending_password(
        pool, status.account_id, password_reset.workflow_id(reset_id), password
    )
    done: PasswordResetDone = await RESET.update(
        temporal, reset_id, PasswordResetWorkflow.submit_new_password, NewPasswordReady()
    )
    return ResetDone(identifier=done.identifier, message=_done_message(done.identifier))


@router.get(
    "/password/{reset_id}",
    summary="Où en est ma demande (mot de passe perdu, par SMS) ?",
    response_model=ResetView,
    responses={404: {"model": ErrorBody}},
)
async def reset_status(
    reset_id: ResetId, pool: Pool, temporal: Temporal, browser: BrowserToken = None
) -> ResetView:
    await _bound(pool, reset_id, browser)
    return _view(reset_id, await reset_status_of(temporal, reset_id))


@router.post(
    "/password/{reset_id}/code",
    summary="Saisir le code reçu par SMS",
    response_model=ResetView,
    responses={
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        410: {"model": ErrorBody},
        422: {"model": ErrorBody},
        423: {"model": ErrorBody},
    },
)
async def submit_code(
    reset_id: ResetId, body: CodeBody, pool: Pool, temporal: Temporal, browser: BrowserToken = None
) -> ResetView:
    code = six_digit_code(body.code)
    await _bound(pool, reset_id, browser)
    status = await check_reset_code(pool, temporal, reset_id, code)
    return _view(reset_id, status, CODE_CHECKED)


@router.post(
    "/password/{reset_id}/resend-code",
    summary="Renvoyer le code (l'ancien code ne fonctionne plus)",
    response_model=ResetView,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def resend_code(
    reset_id: ResetId, pool: Pool, temporal: Temporal, browser: BrowserToken = None
) -> ResetView:
    await _bound(pool, reset_id, browser)
    return _view(reset_id, await resend_reset_code(temporal, reset_id), CODE_RESENT)


@router.post(
    "/password/{reset_id}/new-password",
    summary="Choisir le nouveau mot de passe (après le code reçu par SMS)",
    response_model=ResetDone,
    responses={
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        410: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)
async def new_password(
    reset_id: ResetId,
    body: NewPasswordBody,
    pool: Pool,
    temporal: Temporal,
    browser: BrowserToken = None,
) -> ResetDone:
    await _bound(pool, reset_id, browser)
    return await choose_new_password(
        pool, temporal, reset_id, body.password, body.password_confirmation
    )
