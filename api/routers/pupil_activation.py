"""Pupil activation with school-issued credentials (DESIGN §3.4, FAQ 2.4).

A pupil's sign-in with the provisional credentials (`POST /sign-in`) starts or
resumes the workflow `pupil-activation/<account-id>`; these routes are its
steps. The link of the confirmation email opens the page shared with the
guardian's activation (`/activation/confirmation`)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import asyncpg
from fastapi import APIRouter
from pydantic import BaseModel, Field
from temporalio.client import Client

from api.activation_routes import (
    ActivationProcess,
    add_confirmation_link_routes,
    normalized_email,
    raise_birthdate_refusal,
)
from api.deps import ActivationSession, Pool, Temporal
from api.errors import ErrorBody
from educonnect.account_management import check_new_password, password_context
from educonnect.credentials import CheckedAccount
from educonnect.models.pupil_activation import (
    PupilActivationInput,
    PupilActivationStatus,
    PupilProfileSubmission,
    SkipEmail,
)
from workflows.pupil_activation import PupilActivationWorkflow, workflow_id

router = APIRouter(prefix="/pupil-activation", tags=["Activation du compte élève"])


class PupilActivationView(PupilActivationStatus):
    assistance_url: str | None = None


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


PROCESS = ActivationProcess(PupilActivationWorkflow, workflow_id, PupilActivationView)


async def start_or_resume_pupil_activation(
    temporal: Client, pool: asyncpg.Pool, account: CheckedAccount
) -> PupilActivationView:
    params = PupilActivationInput(
        account_id=account.account_id,
        identifier=account.identifier,
        credentials_expire_at=account.provisional_expires_at or datetime.max.replace(tzinfo=timezone.utc),
    )
    return await PROCESS.start_or_resume(temporal, params, summary=f"Activation du compte élève {account.identifier}")


@router.get("", summary="Où en est l'activation de mon compte élève ?", response_model=PupilActivationView)
async def pupil_activation_status(session: ActivationSession, temporal: Temporal) -> PupilActivationView:
    return PROCESS.view_of(await PROCESS.status(temporal, session))


@router.post(
    "/profile",
    summary="Gérer mon compte : mot de passe, date de naissance, adresse électronique facultative",
    response_model=PupilActivationView,
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}, 423: {"model": ErrorBody}},
)
async def submit_profile(body: PupilProfileRequest, session: ActivationSession, pool: Pool, temporal: Temporal):
    await PROCESS.require_profile_step(temporal, session)
    check_new_password(body.password, body.password_confirmation, await password_context(pool, session.account_id))
    email = normalized_email(body.email) if body.email and body.email.strip() else None
    await PROCESS.keep_pending_password(pool, session, body.password)
    profile = PupilProfileSubmission(birthdate=body.birthdate, email=email)
    outcome = await PROCESS.update(temporal, session, PupilActivationWorkflow.submit_profile, profile)
    raise_birthdate_refusal(outcome, field="birthdate")
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
    return PROCESS.view_of(await PROCESS.update(temporal, session, PupilActivationWorkflow.skip_email, SkipEmail()))
