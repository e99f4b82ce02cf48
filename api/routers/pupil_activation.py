"""Pupil activation with school-issued credentials (DESIGN §3.4, FAQ 2.4).

A pupil's sign-in with the provisional credentials (`POST /sign-in`) starts or
resumes the workflow `pupil-activation/<account-id>`; these routes are its
steps. The link of the confirmation email opens the page shared with the
guardian's activation (`/activation/confirmation`). Blocked after three wrong
birthdates, the pupil asks for the correction of their own birthdate at
`/pupil-activation/correction`; the decision goes to the account's email
address, or, without one, the school tells the pupil."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timezone

import asyncpg
from fastapi import APIRouter
from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from api.correction_form import (
    SCHOOL_CONTACT,
    Child,
    Contact,
    CorrectionInfo,
    Requester,
    RequestSummary,
    latest_request,
)
from api.correction_routes import Blocked, add_correction_routes
from api.deps import ActivationSession, Pool, Temporal
from api.errors import ErrorBody
from api.routers.activation import EmailRequest, LinkSentView, normalized_email
from educonnect.credentials import CheckedAccount
from educonnect.errors import MESSAGES, DomainError, ErrorCode
from educonnect.models.activation import ActivationStep, EmailCorrection, ResendRequest
from educonnect.models.pupil_activation import (
    PupilActivationInput,
    PupilActivationStatus,
    PupilProfileSubmission,
    SkipEmail,
)
from educonnect.passwords import check_password_policy, hash_password_async
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP
from educonnect.settings import get_settings
from workflows.pupil_activation import PupilActivationWorkflow, workflow_id

router = APIRouter(prefix="/pupil-activation", tags=["Activation du compte élève"])

UPDATE_TIMEOUT_S = 20
CORRECTION_URL = f"{router.prefix}/correction"


class PupilActivationView(PupilActivationStatus, CorrectionInfo):
    """The pupil activation's status, and the birthdate correction once blocked."""


class PupilProfileRequest(BaseModel):
    password: str = Field(max_length=128, description="Nouveau mot de passe")
    password_confirmation: str = Field(max_length=128)
    birthdate: date = Field(description="Votre date de naissance (AAAA-MM-JJ)")
    email: str | None = Field(
        default=None,
        max_length=254,
        description=(
            "Adresse électronique facultative, confirmée par un lien. Sans adresse confirmée, "
            "vous ne pourrez pas récupérer seul votre identifiant ou votre mot de passe."
        ),
    )


def _view(status: PupilActivationStatus, correction: RequestSummary | None = None) -> PupilActivationView:
    blocked = status.step == ActivationStep.BIRTHDATE_BLOCKED
    return PupilActivationView(
        **status.model_dump(), assistance_url=CORRECTION_URL if blocked else None, correction=correction
    )


async def start_or_resume_pupil_activation(
    temporal: Client, pool: asyncpg.Pool, account: CheckedAccount
) -> PupilActivationView:
    handle = await temporal.start_workflow(
        PupilActivationWorkflow.run,
        PupilActivationInput(
            account_id=account.account_id,
            identifier=account.identifier,
            credentials_expire_at=account.provisional_expires_at or datetime.max.replace(tzinfo=timezone.utc),
        ),
        id=workflow_id(account.account_id),
        task_queue=get_settings().task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(PROCESS_STEP, ActivationStep.PROFILE.value),
                SearchAttributePair(ACCOUNT_ID, str(account.account_id)),
            ]
        ),
        static_summary=f"Activation du compte élève {account.identifier}",
    )
    return _view(await handle.query(PupilActivationWorkflow.status))


def _handle(temporal: Client, session: ActivationSession):
    return temporal.get_workflow_handle_for(PupilActivationWorkflow.run, workflow_id(session.account_id))


async def _status(temporal: Client, session: ActivationSession) -> PupilActivationStatus:
    try:
        return await _handle(temporal, session).query(PupilActivationWorkflow.status)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise DomainError(ErrorCode.PROCESS_NOT_FOUND) from None
        raise


async def _update(call):
    try:
        return await asyncio.wait_for(call, UPDATE_TIMEOUT_S)
    except asyncio.TimeoutError:
        raise DomainError(ErrorCode.SERVICE_UNAVAILABLE) from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise DomainError(ErrorCode.PROCESS_ENDED) from None
        raise


async def _password_context(pool: asyncpg.Pool, account_id) -> dict:
    row = await pool.fetchrow(
        "SELECT a.identifier, p.first_name, p.last_name, p.birthdate "
        "FROM accounts a JOIN pupils p ON p.id = a.pupil_id WHERE a.id = $1",
        account_id,
    )
    if row is None:
        return {}
    return {
        "identifier": row["identifier"],
        "names": {row["first_name"], row["last_name"]},
        "birthdates": {row["birthdate"]},
    }


@router.get("", summary="Où en est l'activation de mon compte élève ?", response_model=PupilActivationView)
async def pupil_activation_status(session: ActivationSession, pool: Pool, temporal: Temporal) -> PupilActivationView:
    status = await _status(temporal, session)
    blocked = status.step == ActivationStep.BIRTHDATE_BLOCKED
    return _view(status, await latest_request(pool, workflow_id(session.account_id), blocked=blocked))


@router.post(
    "/profile",
    summary="Gérer mon compte : mot de passe, date de naissance, adresse électronique facultative",
    response_model=PupilActivationView,
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}, 423: {"model": ErrorBody}},
)
async def submit_profile(body: PupilProfileRequest, session: ActivationSession, pool: Pool, temporal: Temporal):
    status = await _status(temporal, session)
    if status.step != ActivationStep.PROFILE:
        code = ErrorCode.BIRTHDATE_BLOCKED if status.step == ActivationStep.BIRTHDATE_BLOCKED else ErrorCode.WRONG_STEP
        raise DomainError(code, [{"assistance_url": CORRECTION_URL}] if code == ErrorCode.BIRTHDATE_BLOCKED else [])
    violations = check_password_policy(body.password, **await _password_context(pool, session.account_id))
    if violations:
        raise DomainError(
            ErrorCode.PASSWORD_POLICY, [{"field": "password", "code": v.code, "message": v.message} for v in violations]
        )
    if body.password != body.password_confirmation:
        raise DomainError(ErrorCode.PASSWORD_MISMATCH, [{"field": "password_confirmation"}])
    email = normalized_email(body.email) if body.email and body.email.strip() else None

    # The password never enters Temporal: its hash waits here.
    await pool.execute(
        """
        INSERT INTO pending_passwords (account_id, process_id, password_hash) VALUES ($1, $2, $3)
        ON CONFLICT (account_id, process_id) DO UPDATE SET password_hash = excluded.password_hash, created_at = now()
        """,
        session.account_id,
        workflow_id(session.account_id),
        await hash_password_async(body.password),
    )
    outcome = await _update(
        _handle(temporal, session).execute_update(
            PupilActivationWorkflow.submit_profile, PupilProfileSubmission(birthdate=body.birthdate, email=email)
        )
    )
    if outcome.error == ErrorCode.BIRTHDATE_BLOCKED:
        raise DomainError(outcome.error, [{"attempts_left": 0, "assistance_url": CORRECTION_URL}])
    if outcome.error is not None:
        raise DomainError(
            outcome.error,
            [{"field": "birthdate", "attempts_left": outcome.attempts_left}],
            message=f"{MESSAGES[outcome.error]} Il vous reste {outcome.attempts_left} essai(s).",
        )
    return _view(await _status(temporal, session))


@router.post(
    "/resend-link",
    summary="Renvoyer un email de confirmation (l'ancien lien ne fonctionne plus)",
    response_model=LinkSentView,
    responses={409: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def resend_link(session: ActivationSession, temporal: Temporal) -> LinkSentView:
    sent = await _update(
        _handle(temporal, session).execute_update(PupilActivationWorkflow.resend_link, ResendRequest())
    )
    return LinkSentView(email=sent.email, sent_at=sent.sent_at, message=f"Un nouveau lien a été envoyé à {sent.email}.")


@router.post(
    "/email",
    summary="Corriger l'adresse électronique (un nouveau lien part vers la nouvelle adresse)",
    response_model=LinkSentView,
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def correct_email(body: EmailRequest, session: ActivationSession, temporal: Temporal) -> LinkSentView:
    email = normalized_email(body.email)
    sent = await _update(
        _handle(temporal, session).execute_update(PupilActivationWorkflow.correct_email, EmailCorrection(email=email))
    )
    return LinkSentView(email=sent.email, sent_at=sent.sent_at, message=f"Un nouveau lien a été envoyé à {sent.email}.")


@router.post(
    "/skip-email",
    summary="Continuer sans adresse électronique (le compte est activé tout de suite)",
    response_model=PupilActivationView,
    responses={409: {"model": ErrorBody}},
)
async def skip_email(session: ActivationSession, temporal: Temporal) -> PupilActivationView:
    status = await _update(_handle(temporal, session).execute_update(PupilActivationWorkflow.skip_email, SkipEmail()))
    return _view(status)


# --- blocked after three wrong birthdates: the correction of their own birthdate ---


async def blocked_pupil(session: ActivationSession, pool: Pool, temporal: Temporal) -> Blocked:
    """The pupil whose activation is blocked on their own birthdate. Told by
    email at the account's address if it has one; otherwise nothing is sent
    and the school tells them (staff see it on the request)."""
    status = await _status(temporal, session)
    if status.step in (ActivationStep.ACTIVE, ActivationStep.EXPIRED):
        raise DomainError(ErrorCode.PROCESS_ENDED)
    if status.step != ActivationStep.BIRTHDATE_BLOCKED:
        raise DomainError(ErrorCode.CORRECTION_NOT_NEEDED)
    pupil = await pool.fetchrow(
        "SELECT p.id, p.first_name, p.last_name, s.name AS school_name, a.email FROM accounts a "
        "JOIN pupils p ON p.id = a.pupil_id JOIN schools s ON s.uai = p.uai WHERE a.id = $1",
        session.account_id,
    )
    if pupil is None:  # pragma: no cover - a pupil activation always belongs to a pupil account
        raise DomainError(ErrorCode.PROCESS_NOT_FOUND)
    myself = Child(pupil_id=pupil["id"], first_name=pupil["first_name"], last_name=pupil["last_name"],
                   school_name=pupil["school_name"])  # fmt: skip
    requester = Requester(
        process_id=workflow_id(session.account_id),
        name=f"{pupil['first_name']} {pupil['last_name']}",
        children=[myself],
        account_id=session.account_id,
    )
    return Blocked(requester, Contact("email", email=pupil["email"]) if pupil["email"] else SCHOOL_CONTACT)


add_correction_routes(router, "/correction", blocked_pupil)
