"""The portal's home page (DESIGN §3.5, FAQ 3): for each child of the signed-in
account (a guardian's children; a pupil themself), the services open to them
by school and degree (`educonnect.services`)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import Pool, PortalSession
from api.errors import ErrorBody
from educonnect.errors import DomainError, ErrorCode
from educonnect.services import services_for

router = APIRouter(tags=["Portail"])

EMAIL_PATH = "/account/email"  # seam: the email-change process (DESIGN §3.8) serves it


class ServiceView(BaseModel):
    code: str
    name: str
    description: str
    category: str


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
    account = await pool.fetchrow(
        """
        SELECT a.identifier, a.kind, a.state, a.email, a.email_verified_at IS NOT NULL AS email_verified,
               coalesce(g.first_name, p.first_name) AS first_name, coalesce(g.last_name, p.last_name) AS last_name
        FROM accounts a
        LEFT JOIN guardians g ON g.id = a.guardian_id
        LEFT JOIN pupils p ON p.id = a.pupil_id
        WHERE a.id = $1
        """,
        session.account_id,
    )
    if account is None or account["state"] != "active":
        await pool.execute("UPDATE sessions SET revoked_at = now() WHERE id = $1", session.id)
        raise DomainError(ErrorCode.SESSION_REQUIRED)

    children = await pool.fetch(
        """
        SELECT p.id, p.first_name, p.last_name, p.class_name, p.level, p.birthdate,
               s.uai, s.name AS school_name, s.kind AS school_kind, s.degree, s.city
        FROM accounts a
        JOIN pupils p ON p.id = a.pupil_id
                      OR p.id IN (SELECT gp.pupil_id FROM guardian_pupils gp
                                   WHERE gp.guardian_id = a.guardian_id AND gp.disputed_at IS NULL)
        JOIN schools s ON s.uai = p.uai
        WHERE a.id = $1
        ORDER BY p.birthdate, p.first_name
        """,
        session.account_id,
    )
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
                        code=s.code, name=s.name, description=s.description, category=s.category
                    )
                    for s in services_for(account["kind"], c["school_kind"], c["level"])
                ],
            )
            for c in children
        ],
    )
