"""Sign-in with an identifier and a password ("Se connecter", FAQ 3), and
sign-out.

- With the account's own password: a portal session (server-side, revocable;
  cookie HttpOnly, SameSite=Lax, Secure in production). An account whose email
  is not validated is asked to check or correct it (FAQ 7): the answer carries
  `email_validation_required` and `next: "/account/email"`.
- With the school-issued provisional password: the activation process starts
  or resumes (`activation/<id>` for a guardian, `pupil-activation/<id>` for a
  pupil) under an activation-only session.

Every attempt passes the limits of `educonnect.sign_in_limits` (progressive
delays, lock after 100 consecutive failures, per-IP limit); refusals are the
same, in content and time, whether or not the identifier exists.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Cookie, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from temporalio.client import Client

from api.deps import (
    Pool,
    Temporal,
    clear_session_cookie,
    request_client_ip,
    set_session_cookie,
    start_portal_session,
)
from api.errors import ErrorBody
from api.routers.activation import ActivationView, start_or_resume_activation
from api.routers.franceconnect import franceconnect_logout, set_logout_cookie
from api.routers.portal import EMAIL_PATH, email_validation_message
from api.routers.pupil_activation import PupilActivationView, start_or_resume_pupil_activation
from educonnect import accounts, sessions
from educonnect.account_management import take_notices
from educonnect.franceconnect import LogoutStart, take_franceconnect_id_token
from educonnect.service_logout import end_services_of_session
from educonnect.sign_in_limits import check_credentials_limited

router = APIRouter(tags=["Connexion"])

SessionCookie = Annotated[str | None, Cookie(alias="educonnect_session", include_in_schema=False)]


class SignInRequest(BaseModel):
    identifier: str = Field(
        min_length=1, max_length=64, description="Identifiant, par exemple m.dupont12"
    )
    password: str = Field(min_length=1, max_length=128)


class SignInStatus(StrEnum):
    SIGNED_IN = "signed_in"
    ACTIVATION_REQUIRED = "activation_required"


class SignInResponse(BaseModel):
    status: SignInStatus
    identifier: str
    message: str
    # Where the client goes next: "/portal", "/account/email" (address to
    # check, FAQ 7), "/activation" or "/pupil-activation".
    next: str
    email_validation_required: bool = False
    email_validation_message: str | None = None
    activation: ActivationView | None = None  # a guardian's activation
    pupil_activation: PupilActivationView | None = None  # a pupil's activation
    # What happened since the last sign-in (e.g. an email change that expired), shown once.
    notices: list[str] = []


class SignedOut(BaseModel):
    message: str
    # Signed in through FranceConnect: the provider's end-session address, where
    # the browser goes to end the FranceConnect session too (a browser's form
    # post is redirected there: 303). It comes back to
    # /franceconnect/logout/callback, which answers « Vous êtes déconnecté ».
    next: str | None = None


@router.post(
    "/sign-in",
    summary="Se connecter avec un identifiant et un mot de passe",
    response_model=SignInResponse,
    responses={
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        423: {"model": ErrorBody, "description": "Compte bloqué (100 échecs consécutifs)"},
        429: {"model": ErrorBody, "description": "Trop d'essais : en-tête Retry-After"},
    },
)
async def sign_in(
    body: SignInRequest,
    request: Request,
    response: Response,
    pool: Pool,
    temporal: Temporal,
    educonnect_session: SessionCookie = None,
):
    return await sign_in_with_password(
        pool, temporal, body, request_client_ip(request), response, educonnect_session
    )


async def sign_in_with_password(
    pool: asyncpg.Pool,
    temporal: Client,
    body: SignInRequest,
    client_ip: str,
    response: Response,
    current_session: str | None = None,
) -> SignInResponse:
    """Sign-in as the JSON route and the sign-in page do it: the limits, then a
    portal session, or the activation started or resumed under an activation
    session; the session cookie is set on `response`. `current_session`: the
    cookie the browser already had (revoked)."""
    account = await check_credentials_limited(pool, body.identifier, body.password, client_ip)

    if not account.provisional:
        await start_portal_session(response, pool, account.account_id, replaces=current_session)
        row = await accounts.email_state(pool, account.account_id)
        assert row is not None  # the account that just signed in
        to_validate = email_validation_message(account.kind, row["email"], row["verified"])
        return SignInResponse(
            status=SignInStatus.SIGNED_IN,
            identifier=account.identifier,
            message="Vous êtes connecté.",
            next=EMAIL_PATH if to_validate else "/portal",
            email_validation_required=to_validate is not None,
            email_validation_message=to_validate,
            notices=await take_notices(pool, account.account_id),
        )

    if current_session:
        await sessions.revoke_session(pool, current_session)
    if account.kind == "guardian":
        view = await start_or_resume_activation(temporal, pool, account)
        result = SignInResponse(
            status=SignInStatus.ACTIVATION_REQUIRED,
            identifier=account.identifier,
            message=(
                "Pour accéder à vos services, activez votre compte : "
                "« Gérer mon compte » puis « Activer votre compte »."
            ),
            next="/activation",
            activation=view,
        )
    else:
        pupil_view = await start_or_resume_pupil_activation(temporal, pool, account)
        result = SignInResponse(
            status=SignInStatus.ACTIVATION_REQUIRED,
            identifier=account.identifier,
            message=(
                "Pour accéder à vos services, activez votre compte élève : choisissez un mot de passe, "
                "indiquez votre date de naissance et, si vous le souhaitez, une adresse électronique."
            ),
            next="/pupil-activation",
            pupil_activation=pupil_view,
        )
    token = await sessions.open_session(pool, account.account_id, "activation")
    set_session_cookie(response, token, "activation")
    return result


async def sign_out_session(pool: asyncpg.Pool, token: str | None) -> LogoutStart | None:
    """The session revoked. Opened through FranceConnect: where the browser goes
    to end the FranceConnect session too (None: nowhere, or FranceConnect is down)."""
    if not token:
        return None
    session = await sessions.find_session(pool, token)
    if session is not None:  # the services signed into through it are told (back-channel)
        await end_services_of_session(pool, session.id)
    id_token = await take_franceconnect_id_token(pool, token)
    await sessions.revoke_session(pool, token)
    return await franceconnect_logout(pool, id_token) if id_token else None


@router.post(
    "/sign-out",
    summary="Se déconnecter (la session est révoquée ; avec FranceConnect, de FranceConnect aussi)",
    response_model=SignedOut,
    responses={303: {"description": "Vers la déconnexion de FranceConnect (navigateur)"}},
)
async def sign_out(
    request: Request, response: Response, pool: Pool, educonnect_session: SessionCookie = None
):
    logout = await sign_out_session(pool, educonnect_session)
    clear_session_cookie(response)
    if logout is None:
        return SignedOut(message="Vous êtes déconnecté.")
    body = SignedOut(
        message="Vous êtes déconnecté d'EduConnect. Déconnexion de FranceConnect en cours.",
        next=logout.end_session_url,
    )
    if "text/html" in request.headers.get("accept", ""):  # a browser's form: redirected
        answer: Response = JSONResponse(
            body.model_dump(), status_code=303, headers={"Location": logout.end_session_url}
        )
        clear_session_cookie(answer)
    else:
        answer = response
    set_logout_cookie(answer, logout.browser_token)
    return answer if answer is not response else body
