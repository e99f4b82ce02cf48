"""Sign-in with an identifier and a password ("Se connecter", FAQ 3).

With the school-issued provisional password, sign-in starts (or resumes) the
activation process and opens an activation-only session."""

from __future__ import annotations

from enum import StrEnum

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.deps import Pool, Temporal, set_session_cookie
from api.errors import ErrorBody
from api.routers.activation import ActivationView, start_or_resume_activation
from educonnect import sessions
from educonnect.credentials import check_credentials
from educonnect.errors import DomainError, ErrorCode

router = APIRouter(tags=["Connexion"])


class SignInRequest(BaseModel):
    identifier: str = Field(min_length=1, max_length=64, description="Identifiant, par exemple m.dupont12")
    password: str = Field(min_length=1, max_length=128)


class SignInStatus(StrEnum):
    SIGNED_IN = "signed_in"
    ACTIVATION_REQUIRED = "activation_required"


class SignInResponse(BaseModel):
    status: SignInStatus
    identifier: str
    message: str
    activation: ActivationView | None = None


@router.post(
    "/sign-in",
    summary="Se connecter avec un identifiant et un mot de passe",
    response_model=SignInResponse,
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
async def sign_in(body: SignInRequest, response: Response, pool: Pool, temporal: Temporal) -> SignInResponse:
    account = await check_credentials(pool, body.identifier, body.password)
    if not account.provisional:
        token = await sessions.open_session(pool, account.account_id, "portal")
        set_session_cookie(response, token, "portal")
        return SignInResponse(
            status=SignInStatus.SIGNED_IN, identifier=account.identifier, message="Vous êtes connecté."
        )
    if account.kind != "guardian":
        # Pupil activation is its own process (DESIGN §3.4), not built yet.
        raise DomainError(
            ErrorCode.ACCOUNT_UNAVAILABLE,
            message="L'activation des comptes élèves n'est pas encore ouverte. Réessayez plus tard.",
        )
    view = await start_or_resume_activation(temporal, pool, account)
    token = await sessions.open_session(pool, account.account_id, "activation")
    set_session_cookie(response, token, "activation")
    return SignInResponse(
        status=SignInStatus.ACTIVATION_REQUIRED,
        identifier=account.identifier,
        message="Pour accéder à vos services, activez votre compte : « Gérer mon compte » puis « Activer votre compte ».",
        activation=view,
    )
