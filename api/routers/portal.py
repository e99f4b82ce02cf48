"""The portal's home page (DESIGN §3.5, FAQ 3): for each child of the signed-in
account (a guardian's children; a pupil themself), the services open to them
by school and degree (`educonnect.services`)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import Pool, PortalSession
from api.errors import ErrorBody
from educonnect import accounts, service_clients, sessions
from educonnect.errors import DomainError, ErrorCode
from educonnect.services import services_for

router = APIRouter(tags=["Portail"])

EMAIL_PATH = "/account/email"  # seam: the email-change process (DESIGN §3.8) serves it


class ServiceView(BaseModel):
    code: str
    name: str
    description: str
    category: str
    # Where the tile leads: the service's own sign-in address, which signs in
    # through EduConnect (DESIGN §10); None while the service is not registered.
    url: str | None = None


class SchoolView(BaseModel):
    uai: str
    name: str
    kind: str
    degree: int
    city: str


class ChildView(BaseModel):
    pupil_id: UUID
    first_name: str
    last_name: str
    class_name: str
    level: str
    school: SchoolView
    services: list[ServiceView]


class PortalView(BaseModel):
    identifier: str
    kind: str
    first_name: str
    last_name: str
    email: str | None
    email_verified: bool
    email_validation_required: bool
    email_validation_message: str | None = None
    next: str | None = None
    children: list[ChildView]


def email_validation_message(kind: str, email: str | None, email_verified: bool) -> str | None:
    """FAQ 7: an account whose address is not validated is asked, at each
    sign-in, to check or correct it. A pupil's address is optional (FAQ 2.4)."""
    if email_verified or (kind == "pupil" and not email):
        return None
    if email:
        return (
            f"Votre adresse électronique {email} n'a pas encore été validée. Vérifiez-la et corrigez-la si "
            "nécessaire : un courriel de confirmation vous sera envoyé à l'adresse validée."
        )
    return (
        "Aucune adresse électronique validée n'est associée à votre compte. Indiquez votre adresse : "
        "un courriel de confirmation vous sera envoyé."
    )


@router.get(
    "/portal",
    summary="Page d'accueil : les services de chaque enfant",
    response_model=PortalView,
    responses={401: {"model": ErrorBody}},
)
async def portal(session: PortalSession, pool: Pool) -> PortalView:
    account = await accounts.holder(pool, session.account_id)
    if account is None or account["state"] != "active":
        await sessions.end_session(pool, session.id)
        raise DomainError(ErrorCode.SESSION_REQUIRED)

    children = await accounts.children(pool, session.account_id)
    links = await service_clients.portal_links(pool)
    message = email_validation_message(account["kind"], account["email"], account["email_verified"])
    return PortalView(
        identifier=account["identifier"],
        kind=account["kind"],
        first_name=account["first_name"],
        last_name=account["last_name"],
        email=account["email"],
        email_verified=account["email_verified"],
        email_validation_required=message is not None,
        email_validation_message=message,
        next=EMAIL_PATH if message else None,
        children=[
            ChildView(
                pupil_id=c["id"],
                first_name=c["first_name"],
                last_name=c["last_name"],
                class_name=c["class_name"],
                level=c["level"],
                school=SchoolView(
                    uai=c["uai"],
                    name=c["school_name"],
                    kind=c["school_kind"],
                    degree=c["degree"],
                    city=c["city"],
                ),
                services=[
                    ServiceView(
                        code=s.code,
                        name=s.name,
                        description=s.description,
                        category=s.category,
                        url=links.get(s.code),
                    )
                    for s in services_for(account["kind"], c["school_kind"], c["level"])
                ],
            )
            for c in children
        ],
    )
