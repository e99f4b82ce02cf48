"""Pupil activation with school-issued credentials (DESIGN §3.4, FAQ 2.4).

A pupil's sign-in with the provisional credentials (`POST /sign-in`) starts or
resumes the workflow `pupil-activation/<account-id>`; these routes are its
steps. The link of the confirmation email opens the page shared with the
guardian's activation (`/activation/confirmation`). Blocked after three wrong
birthdates, the pupil asks for the correction of their own birthdate at
`/pupil-activation/correction`; the decision goes to the account's email
address, or, without one, the school tells the pupil."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg
from fastapi import APIRouter
from pydantic import BaseModel, Field
from temporalio.client import Client

from api.activation_routes import (
    ActivationProcess,
    add_confirmation_link_routes,
)
from api.correction_form import SCHOOL_CONTACT, Child, Contact, CorrectionInfo, Requester
from api.correction_routes import Blocked, add_correction_routes
from api.deps import ActivationSession, Pool, Temporal
from api.errors import ErrorBody
from educonnect import accounts
from educonnect.account_management import check_new_password, password_context
from educonnect.credentials import CheckedAccount
from educonnect.email_addresses import normalized_email
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.activation import ActivationStep
from educonnect.models.pupil_activation import (
    PupilActivationInput,
    PupilActivationStatus,
    PupilProfileSubmission,
    SkipEmail,
)
from educonnect.sessions import Session
from workflows.pupil_activation import PupilActivationWorkflow, workflow_id

router = APIRouter(prefix="/pupil-activation", tags=["Activation du compte élève"])

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


PROCESS = ActivationProcess(
    PupilActivationWorkflow, workflow_id, PupilActivationView, assistance_url=CORRECTION_URL
)


async def start_or_resume_pupil_activation(
    temporal: Client, pool: asyncpg.Pool, account: CheckedAccount
) -> PupilActivationView:
    params = PupilActivationInput(
        account_id=account.account_id,
        identifier=account.identifier,
        credentials_expire_at=account.provisional_expires_at or datetime.max.replace(tzinfo=UTC),
    )
    return await PROCESS.start_or_resume(
        temporal, params, summary=f"Activation du compte élève {account.identifier}"
    )


@router.get(
    "", summary="Où en est l'activation de mon compte élève ?", response_model=PupilActivationView
)
async def pupil_activation_status(
    session: ActivationSession, pool: Pool, temporal: Temporal
) -> PupilActivationView:
    return await PROCESS.status_view(pool, temporal, session)


@router.post(
    "/profile",
    summary="Gérer mon compte : mot de passe, date de naissance, adresse électronique facultative",
    response_model=PupilActivationView,
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}, 423: {"model": ErrorBody}},
)
async def submit_profile(
    body: PupilProfileRequest, session: ActivationSession, pool: Pool, temporal: Temporal
):
    return await submit_pupil_profile(pool, temporal, session, body)


async def submit_pupil_profile(
    pool: asyncpg.Pool, temporal: Client, session: Session, body: PupilProfileRequest
) -> PupilActivationView:
    """ "Gérer mon compte", as the JSON route and the page do it: the step
    checked, the password checked and parked (hashed) in PostgreSQL, the
    birthdate and the address (if any) sent to the process; its answer (active
    at once without an address, else awaiting the click), or its refusal."""
    await PROCESS.require_profile_step(pool, temporal, session)
    check_new_password(
        body.password, body.password_confirmation, await password_context(pool, session.account_id)
    )
    email = normalized_email(body.email, field=None) if body.email and body.email.strip() else None
    await PROCESS.keep_pending_password(pool, session, body.password)
    profile = PupilProfileSubmission(birthdate=body.birthdate, email=email)
    outcome = await PROCESS.update(
        temporal, session, PupilActivationWorkflow.submit_profile, profile
    )
    PROCESS.raise_birthdate_refusal(outcome, field="birthdate")
    return PROCESS.view_of(await PROCESS.status(temporal, session))


# POST /pupil-activation/resend-link, POST /pupil-activation/email
add_confirmation_link_routes(router, PROCESS)


@router.post(
    "/skip-email",
    summary="Continuer sans adresse électronique (le compte est activé tout de suite)",
    response_model=PupilActivationView,
    responses={409: {"model": ErrorBody}},
)
async def skip_email(session: ActivationSession, temporal: Temporal) -> PupilActivationView:
    return await continue_without_email(temporal, session)


async def continue_without_email(temporal: Client, session: Session) -> PupilActivationView:
    """While the link waits: go on without an address (the account is active at once)."""
    return PROCESS.view_of(
        await PROCESS.update(temporal, session, PupilActivationWorkflow.skip_email, SkipEmail())
    )


# --- blocked after three wrong birthdates: the correction of their own birthdate ---


async def blocked_pupil(session: ActivationSession, pool: Pool, temporal: Temporal) -> Blocked:
    """The pupil whose activation is blocked on their own birthdate. Told by
    email at the account's address if it has one; otherwise nothing is sent
    and the school tells them (staff see it on the request)."""
    status = await PROCESS.status(temporal, session)
    if status.step in (ActivationStep.ACTIVE, ActivationStep.EXPIRED):
        raise DomainError(ErrorCode.PROCESS_ENDED)
    if status.step != ActivationStep.BIRTHDATE_BLOCKED:
        raise DomainError(ErrorCode.CORRECTION_NOT_NEEDED)
    pupil = await accounts.pupil_of(pool, session.account_id)
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
    return Blocked(
        requester, Contact("email", email=pupil["email"]) if pupil["email"] else SCHOOL_CONTACT
    )


add_correction_routes(router, "/correction", blocked_pupil)
