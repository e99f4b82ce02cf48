"""Staff sign in and out (DESIGN §2, §4): school administrators (one school)
and académie support (one académie), with their own sessions and cookie,
apart from families; their account and scope; their password.

The staff routers: this one, `staff_corrections` (the queue of birthdate
corrections and the decisions), `staff_tickets` (assistance tickets),
`staff_accounts` (provisional credentials), `provisioning` and `merge`
(school imports, attachment disputes). The staff member signed in and the
audited refusals are `api.deps.Staff` and `api.deps.refuse_audited`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Cookie, Request, Response, status
from pydantic import BaseModel, Field

from api.deps import STAFF_COOKIE, Pool, Staff, request_client_ip
from api.errors import ErrorBody
from educonnect import audit, policies
from educonnect import staff as staff_accounts
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.corrections import ROLE_LABELS, StaffRole
from educonnect.settings import get_settings
from educonnect.staff import StaffMember

router = APIRouter(prefix="/staff", tags=["Personnel : corrections et assistance"])


class SignInBody(BaseModel):
    login: str = Field(
        min_length=1, max_length=254, description="Identifiant du personnel (adresse académique)"
    )
    password: str = Field(min_length=1, max_length=256)


class StaffView(BaseModel):
    login: str
    display_name: str
    role: StaffRole
    role_label: str
    uai: str | None = None
    academie: str
    scope_label: str


class SignedIn(StaffView):
    message: str


class PasswordChangeBody(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)
    new_password_confirmation: str = Field(min_length=1, max_length=256)


def staff_view(member: StaffMember) -> dict[str, Any]:
    scope = (
        f"établissement {member.uai}"
        if member.role == StaffRole.SCHOOL_ADMIN
        else f"académie de {member.academie}"
    )
    return dict(
        login=member.login,
        display_name=member.display_name,
        role=member.role,
        role_label=ROLE_LABELS[member.role],
        uai=member.uai,
        academie=member.academie,
        scope_label=scope,
    )


@router.post(
    "/sign-in",
    summary="Connexion du personnel (administrateur d'établissement, assistance académique)",
    response_model=SignedIn,
    responses={401: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def sign_in(body: SignInBody, request: Request, response: Response, pool: Pool) -> SignedIn:
    member, token = await open_staff_session(pool, body.login, body.password, request)
    set_staff_cookie(response, token, path="/staff", samesite="strict")
    return SignedIn(**staff_view(member), message="Vous êtes connecté.")


async def open_staff_session(
    pool: asyncpg.Pool, login: str, password: str, request: Request
) -> tuple[StaffMember, str]:
    """Check a staff login and password (limits, delays, audit: `educonnect.staff`)
    and open a session: the member and the cookie's token. The JSON API and
    the staff pages (`api.web.staff.session`) sign in through here."""
    member = await staff_accounts.authenticate(pool, login, password, request_client_ip(request))
    return member, await staff_accounts.open_session(pool, member.id)


def set_staff_cookie(
    response: Response, token: str, *, path: str, samesite: Literal["strict", "lax"]
) -> None:
    """The staff session's cookie: `/staff` (JSON API, SameSite=Strict) or
    `/gestion` (the pages, SameSite=Lax so that a staff email's link opens
    the request's page signed in; their forms carry a CSRF token)."""
    response.set_cookie(
        STAFF_COOKIE,
        token,
        max_age=int(policies.STAFF_SESSION_TTL.total_seconds()),
        httponly=True,
        secure=get_settings().secure_cookies,
        samesite=samesite,
        path=path,
    )


async def close_staff_session(pool: asyncpg.Pool, member: StaffMember, token: str | None) -> None:
    if token:
        await staff_accounts.revoke_session(pool, token)
    await audit.record(pool, member.actor, "staff.sign_out", "staff_account", member.id)


async def change_staff_password(
    pool: asyncpg.Pool, member: StaffMember, body: PasswordChangeBody, token: str | None
) -> None:
    """The member's new password (typed twice); their other sessions end."""
    if body.new_password != body.new_password_confirmation:
        raise DomainError(ErrorCode.PASSWORD_MISMATCH, [{"field": "new_password_confirmation"}])
    await staff_accounts.change_password(
        pool, member, body.current_password, body.new_password, keep_session=token
    )


@router.post(
    "/sign-out", summary="Déconnexion du personnel", status_code=status.HTTP_204_NO_CONTENT
)
async def sign_out(
    member: Staff, pool: Pool, educonnect_staff_session: Annotated[str | None, Cookie()] = None
) -> Response:
    await close_staff_session(pool, member, educonnect_staff_session)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(STAFF_COOKIE, path="/staff", httponly=True, samesite="strict")
    return response


@router.get("/me", summary="Mon compte et mon périmètre", response_model=StaffView)
async def me(member: Staff) -> StaffView:
    return StaffView(**staff_view(member))


@router.post(
    "/password",
    summary="Changer mon mot de passe (12 caractères au moins : minuscule, majuscule, chiffre, caractère spécial)",
    description="Mes autres sessions (autres navigateurs, autres postes) sont fermées.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={401: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def change_password(
    body: PasswordChangeBody,
    member: Staff,
    pool: Pool,
    educonnect_staff_session: Annotated[str | None, Cookie()] = None,
) -> Response:
    await change_staff_password(pool, member, body, educonnect_staff_session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
