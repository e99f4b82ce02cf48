"""Self-registration by SMS, "Je n'ai pas de compte" (DESIGN §3.2, FAQ 2.1).

`POST /registration` starts an attempt (workflow `sms-registration/<uuid>`)
and returns its random id; every later step names that id, and only the
browser that started the attempt may use it (a cookie, `api.process_binding`):
another browser holding the id is answered as for an unknown one. The answers never tell whether the names and number
matched a guardian record (no enumeration). Blocked after three wrong
birthdates, the person files a correction request at
`/registration/{id}/correction` (only then, once the SMS code proved the
number: nothing about the guardian is shown before)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Cookie, Path, Response
from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy

from api.correction_form import CorrectionInfo, RequestSummary, latest_request, verified_guardian
from api.correction_routes import Blocked, add_correction_routes
from api.deps import Pool, Temporal, set_session_cookie
from api.errors import ErrorBody
from api.process_binding import BrowserBinding
from api.process_calls import (
    ProcessCalls,
    resend_sms_code,
    six_digit_code,
    submit_sms_code,
    wrong_answer,
)
from educonnect import policies, registrations, sessions
from educonnect.account_management import check_new_password, guardian_password_context
from educonnect.errors import DomainError, ErrorCode
from educonnect.identifiers import normalize_name
from educonnect.models.registration import (
    ENDED_STEPS,
    STEP_LABELS,
    BirthdateSubmission,
    PasswordReady,
    RegistrationInput,
    RegistrationStatus,
    RegistrationStep,
)
from educonnect.models.sms_codes import SmsCodeStatus
from educonnect.phones import e164_mobile
from educonnect.search_attributes import PROCESS_STEP
from educonnect.settings import get_settings
from workflows.sms_registration import SUMMARY, SmsRegistrationWorkflow, workflow_id

router = APIRouter(prefix="/registration", tags=["Je n'ai pas de compte (inscription par SMS)"])

STARTED_MESSAGE = (
    "Si les informations saisies correspondent à celles connues de l'établissement de votre enfant, "
    "vous allez recevoir un code à 6 chiffres par SMS. Saisissez-le pour continuer."
)
RESENT_MESSAGE = (
    "Si les informations saisies correspondent à celles connues de l'établissement de votre enfant, "
    "un nouveau code vous a été envoyé par SMS. Seul ce dernier code est valable."
)

RegistrationId = Annotated[
    uuid.UUID, Path(description="Identifiant de la demande, renvoyé au démarrage")
]

# Only the browser that started the attempt drives it, for as long as it may wait for a correction.
BROWSER = BrowserBinding(
    "educonnect_registration",
    router.prefix,
    policies.REGISTRATION_BLOCKED_MAX_WAIT + policies.REGISTRATION_RESUME_WINDOW,
    not_found=ErrorCode.REGISTRATION_NOT_FOUND,
)
BrowserToken = Annotated[str | None, Cookie(alias=BROWSER.cookie)]


class StartRequest(BaseModel):
    last_name: str = Field(min_length=1, max_length=100, description="Nom de famille")
    first_name: str = Field(min_length=1, max_length=100, description="Prénom")
    mobile: str = Field(
        min_length=1, max_length=32, description="Téléphone mobile, par exemple 06 12 34 56 78"
    )


class StartResponse(BaseModel):
    registration_id: uuid.UUID
    message: str


class CodeRequest(BaseModel):
    code: str = Field(min_length=1, max_length=20, description="Code à 6 chiffres reçu par SMS")


class BirthdateRequest(BaseModel):
    birthdate: date = Field(description="Date de naissance d'un de vos enfants (AAAA-MM-JJ)")


class PasswordRequest(BaseModel):
    password: str = Field(max_length=128, description="Nouveau mot de passe")
    password_confirmation: str = Field(max_length=128)


class RegistrationView(CorrectionInfo):
    registration_id: uuid.UUID
    step: RegistrationStep
    step_label: str
    code: SmsCodeStatus | None = None
    birthdate_attempts_left: int
    expires_at: datetime | None = None
    identifier: str | None = None
    message: str | None = None


class RegistrationDone(BaseModel):
    status: str = "signed_in"
    identifier: str
    message: str


# --- helpers -------------------------------------------------------------------


def _normalized_names(body: StartRequest) -> tuple[str, str]:
    last, first = normalize_name(body.last_name), normalize_name(body.first_name)
    details = [
        {"field": f, "message": "Ce champ doit contenir des lettres."}
        for f, v in (("last_name", last), ("first_name", first))
        if not v
    ]
    if details:
        raise DomainError(ErrorCode.INVALID_INPUT, details)
    return last, first


def _refusal_for(status: RegistrationStatus) -> ErrorCode:
    return {
        RegistrationStep.BIRTHDATE_BLOCKED: ErrorCode.BIRTHDATE_BLOCKED,
        RegistrationStep.COMPLETED: ErrorCode.REGISTRATION_COMPLETED,
        RegistrationStep.CODE_LOCKED: ErrorCode.SMS_CODE_LOCKED,
        RegistrationStep.ACCOUNT_EXISTS: ErrorCode.REGISTRATION_ACCOUNT_EXISTS,
        RegistrationStep.EXPIRED: ErrorCode.REGISTRATION_EXPIRED,
    }.get(status.step, ErrorCode.REGISTRATION_WRONG_STEP)


def correction_url(registration_id: uuid.UUID) -> str:
    return f"{router.prefix}/{registration_id}/correction"


def _refusal(code: ErrorCode, registration_id: uuid.UUID) -> DomainError:
    if code == ErrorCode.BIRTHDATE_BLOCKED:
        url, process_id = correction_url(registration_id), workflow_id(registration_id)
        return DomainError(
            code, [{"attempts_left": 0, "assistance_url": url, "process_id": process_id}]
        )
    return DomainError(code)


REGISTRATION = ProcessCalls(
    SmsRegistrationWorkflow,
    workflow_id,
    not_found=ErrorCode.REGISTRATION_NOT_FOUND,
    ended=_refusal_for,  # the attempt ended meanwhile: say how
    refusal=_refusal,
    invalid_id_not_found=True,
)


async def _bound(pool: asyncpg.Pool, registration_id: uuid.UUID, browser: str | None) -> None:
    await BROWSER.require(pool, workflow_id(registration_id), browser)


def _require(
    status: RegistrationStatus, step: RegistrationStep, registration_id: uuid.UUID
) -> None:
    if status.step != step:
        raise _refusal(_refusal_for(status), registration_id)


def _view(
    registration_id: uuid.UUID,
    status: RegistrationStatus,
    message: str | None = None,
    correction: RequestSummary | None = None,
) -> RegistrationView:
    blocked = status.step == RegistrationStep.BIRTHDATE_BLOCKED
    return RegistrationView(
        registration_id=registration_id,
        step=status.step,
        step_label=STEP_LABELS[status.step],
        code=status.code,
        birthdate_attempts_left=status.birthdate_attempts_left,
        expires_at=status.expires_at,
        identifier=status.identifier,
        assistance_url=correction_url(registration_id) if blocked else None,
        correction=correction,
        message=message,
    )


# --- the steps, as the JSON routes and the pages (`api.web.registration`) call them ---


async def start_registration(
    pool: asyncpg.Pool,
    temporal: Client,
    response: Response,
    body: StartRequest,
    *,
    also_under: tuple[str, ...] = (),
) -> uuid.UUID:
    """Start an attempt bound to this browser (its cookie set on `response`,
    also under the pages' prefixes `also_under`); the same answer whether or
    not the names and number matched a guardian record."""
    mobile = e164_mobile(body.mobile)
    last, first = _normalized_names(body)
    guardian_id = await registrations.matching_guardian(pool, last, first, mobile)
    registration_id = uuid.uuid4()
    await BROWSER.bind(
        pool, response, registration_id, workflow_id(registration_id), also_under=also_under
    )
    await temporal.start_workflow(
        SmsRegistrationWorkflow.run,
        RegistrationInput(registration_id=registration_id, guardian_id=guardian_id),
        id=workflow_id(registration_id),
        task_queue=get_settings().task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(PROCESS_STEP, RegistrationStep.AWAITING_CODE.value)]
        ),
        static_summary=SUMMARY,
    )
    return registration_id


async def registration_view(
    pool: asyncpg.Pool, temporal: Client, registration_id: uuid.UUID, browser: str | None
) -> RegistrationView:
    """Where this browser's attempt is (and, once blocked, its latest correction request)."""
    await _bound(pool, registration_id, browser)
    status = await REGISTRATION.status(temporal, registration_id)
    blocked = status.step == RegistrationStep.BIRTHDATE_BLOCKED
    correction = await latest_request(pool, workflow_id(registration_id), blocked=blocked)
    return _view(registration_id, status, correction=correction)


async def check_code(
    pool: asyncpg.Pool,
    temporal: Client,
    registration_id: uuid.UUID,
    browser: str | None,
    typed: str,
) -> RegistrationView:
    """The code typed by the person; a wrong one refused with the tries left."""
    code = six_digit_code(typed)
    await _bound(pool, registration_id, browser)
    _require(
        await REGISTRATION.status(temporal, registration_id),
        RegistrationStep.AWAITING_CODE,
        registration_id,
    )
    await submit_sms_code(pool, temporal, REGISTRATION, registration_id, code)
    return _view(registration_id, await REGISTRATION.status(temporal, registration_id))


async def resend_code_of(
    pool: asyncpg.Pool, temporal: Client, registration_id: uuid.UUID, browser: str | None
) -> RegistrationView:
    """A new code by SMS (if the record matched); the old one dies."""
    await _bound(pool, registration_id, browser)
    _require(
        await REGISTRATION.status(temporal, registration_id),
        RegistrationStep.AWAITING_CODE,
        registration_id,
    )
    await resend_sms_code(temporal, REGISTRATION, registration_id)
    return _view(
        registration_id, await REGISTRATION.status(temporal, registration_id), RESENT_MESSAGE
    )


async def check_birthdate(
    pool: asyncpg.Pool,
    temporal: Client,
    registration_id: uuid.UUID,
    browser: str | None,
    birthdate: date,
) -> RegistrationView:
    """A child's birthdate; a wrong one refused with the tries left, the third blocks."""
    await _bound(pool, registration_id, browser)
    _require(
        await REGISTRATION.status(temporal, registration_id),
        RegistrationStep.BIRTHDATE,
        registration_id,
    )
    submission = BirthdateSubmission(birthdate=birthdate)
    outcome = await REGISTRATION.update(
        temporal, registration_id, SmsRegistrationWorkflow.submit_birthdate, submission
    )
    if outcome.error == ErrorCode.BIRTHDATE_INCORRECT:
        raise wrong_answer(outcome.error, "birthdate", outcome.attempts_left)
    if outcome.error is not None:
        raise _refusal(outcome.error, registration_id)
    return _view(registration_id, await REGISTRATION.status(temporal, registration_id))


async def create_account(
    pool: asyncpg.Pool,
    temporal: Client,
    registration_id: uuid.UUID,
    browser: str | None,
    body: PasswordRequest,
    response: Response,
) -> RegistrationDone:
    """The password checked and parked (hashed), the account created by the
    process, the person signed in (the session cookie set on `response`)."""
    await _bound(pool, registration_id, browser)
    status = await REGISTRATION.status(temporal, registration_id)
    _require(status, RegistrationStep.PASSWORD, registration_id)
    assert status.guardian_id is not None  # set once the code was verified
    check_new_password(
        body.password,
        body.password_confirmation,
        await guardian_password_context(pool, status.guardian_id),
    )

    # The password never enters Temporal: its hash waits here for the account.
    await registrations.keep_password(
        pool, workflow_id(registration_id), status.guardian_id, body.password
    )
    try:
        account = await REGISTRATION.update(
            temporal, registration_id, SmsRegistrationWorkflow.submit_password, PasswordReady()
        )
    except DomainError:  # refused (e.g. the attempt ended meanwhile): forget the password
        await registrations.forget_password(pool, workflow_id(registration_id))
        raise
    token = await sessions.open_session(pool, account.account_id, "portal")
    set_session_cookie(response, token, "portal")
    return RegistrationDone(identifier=account.identifier, message=welcome_text(account.identifier))


def welcome_text(identifier: str) -> str:
    return (
        f"Votre compte EduConnect est créé et vous êtes connecté. Votre identifiant est {identifier} : "
        "notez-le, il vous servira à chaque connexion avec votre mot de passe."
    )


# --- routes --------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    summary="Je n'ai pas de compte : nom, prénom et téléphone mobile",
    response_model=StartResponse,
    responses={422: {"model": ErrorBody}},
)
async def start(
    body: StartRequest, response: Response, pool: Pool, temporal: Temporal
) -> StartResponse:
    registration_id = await start_registration(pool, temporal, response, body)
    return StartResponse(registration_id=registration_id, message=STARTED_MESSAGE)


@router.get(
    "/{registration_id}",
    summary="Où en est mon inscription ?",
    response_model=RegistrationView,
    responses={404: {"model": ErrorBody}},
)
async def registration_status(
    registration_id: RegistrationId, pool: Pool, temporal: Temporal, browser: BrowserToken = None
) -> RegistrationView:
    return await registration_view(pool, temporal, registration_id, browser)


@router.post(
    "/{registration_id}/code",
    summary="Saisir le code reçu par SMS",
    response_model=RegistrationView,
    responses={
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        410: {"model": ErrorBody},
        422: {"model": ErrorBody},
        423: {"model": ErrorBody},
    },
)
async def submit_code(
    registration_id: RegistrationId,
    body: CodeRequest,
    pool: Pool,
    temporal: Temporal,
    browser: BrowserToken = None,
):
    return await check_code(pool, temporal, registration_id, browser, body.code)


@router.post(
    "/{registration_id}/resend-code",
    summary="Renvoyer le code (l'ancien code ne fonctionne plus)",
    response_model=RegistrationView,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def resend_code(
    registration_id: RegistrationId, pool: Pool, temporal: Temporal, browser: BrowserToken = None
) -> RegistrationView:
    return await resend_code_of(pool, temporal, registration_id, browser)


@router.post(
    "/{registration_id}/birthdate",
    summary="Confirmer la date de naissance d'un de vos enfants",
    response_model=RegistrationView,
    responses={
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
        423: {"model": ErrorBody},
    },
)
async def submit_birthdate(
    registration_id: RegistrationId,
    body: BirthdateRequest,
    pool: Pool,
    temporal: Temporal,
    browser: BrowserToken = None,
):
    return await check_birthdate(pool, temporal, registration_id, browser, body.birthdate)


@router.post(
    "/{registration_id}/password",
    summary="Créer le mot de passe : le compte est créé et vous êtes connecté",
    response_model=RegistrationDone,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def submit_password(
    registration_id: RegistrationId,
    body: PasswordRequest,
    response: Response,
    pool: Pool,
    temporal: Temporal,
    browser: BrowserToken = None,
) -> RegistrationDone:
    return await create_account(pool, temporal, registration_id, browser, body, response)


# --- blocked after three wrong birthdates: the correction request -----------------


async def blocked_registration(
    registration_id: RegistrationId, pool: Pool, temporal: Temporal, browser: BrowserToken = None
) -> Blocked:
    """The guardian of this browser's registration, blocked on a birthdate, told
    by SMS at the number that received the code. Another browser, or any other
    step, is refused before the guardian is read; a blocked step is only
    reached with the code verified."""
    await _bound(pool, registration_id, browser)
    status = await REGISTRATION.status(temporal, registration_id)
    if status.step in ENDED_STEPS:
        raise _refusal(_refusal_for(status), registration_id)
    if status.step != RegistrationStep.BIRTHDATE_BLOCKED:
        raise DomainError(ErrorCode.CORRECTION_NOT_NEEDED)
    return Blocked(*await verified_guardian(pool, workflow_id(registration_id), status.guardian_id))


add_correction_routes(router, "/{registration_id}/correction", blocked_registration)
