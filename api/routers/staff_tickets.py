"""Staff read and answer the assistance tickets of their scope (DESIGN §3.7:
the questions that are not a correction). The answer goes out by email and
is recorded once sent. Every action, accepted or refused, is audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.correction_filing import MESSAGE_MAX
from api.deps import QUEUE_LIMIT, Pool, Staff, audit_listing, refuse_audited
from api.errors import ErrorBody
from educonnect import assistance_tickets, audit
from educonnect.emails import corrections as correction_emails
from educonnect.emails.corrections import reference
from educonnect.emails.delivery import send_email_once
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.corrections import TICKET_CATEGORY_LABELS, TicketCategory
from educonnect.staff import StaffMember

router = APIRouter(prefix="/staff", tags=["Personnel : corrections et assistance"])

TicketId = Annotated[uuid.UUID, Path(description="Identifiant de la demande d'assistance")]


class TicketItem(BaseModel):
    ticket_id: uuid.UUID
    reference: str
    status: str
    status_label: str
    category: TicketCategory
    category_label: str
    last_name: str
    first_name: str
    email: str
    uai: str | None = None
    academie: str
    created_at: datetime
    answered_at: datetime | None = None


class Reply(BaseModel):
    at: datetime
    author: str
    text: str


class TicketDetail(TicketItem):
    message: str
    replies: list[Reply]


class TicketAnswerBody(BaseModel):
    message: str = Field(
        min_length=1, max_length=MESSAGE_MAX, description="Réponse envoyée par email"
    )


_TICKET_STATUS = {"open": "En attente de réponse", "answered": "Répondu"}


def _ticket_item(r) -> dict[str, Any]:
    return dict(
        ticket_id=r["id"],
        reference=reference(r["id"]),
        status=r["status"],
        status_label=_TICKET_STATUS[r["status"]],
        category=TicketCategory(r["category"]),
        category_label=TICKET_CATEGORY_LABELS[TicketCategory(r["category"])],
        last_name=r["last_name"],
        first_name=r["first_name"],
        email=r["email"],
        uai=r["uai"],
        academie=r["academie"],
        created_at=r["created_at"],
        answered_at=r["answered_at"],
    )


@router.get(
    "/tickets",
    summary="Demandes d'assistance de mon périmètre (sans réponse d'abord, les plus anciennes d'abord)",
    response_model=list[TicketItem],
)
async def tickets(
    member: Staff, pool: Pool, limite: Annotated[int, Query(ge=1, le=QUEUE_LIMIT)] = 100
) -> list[TicketItem]:
    rows = await assistance_tickets.tickets_in_scope(pool, member, limite)
    await audit_listing(pool, member, "ticket.list", len(rows))
    return [TicketItem(**_ticket_item(r)) for r in rows]


async def ticket_in_scope(
    pool: asyncpg.Pool, member: StaffMember, ticket_id: uuid.UUID, action: str
):
    row = await assistance_tickets.ticket(pool, ticket_id)
    if row is None:
        await refuse_audited(pool, member, action, "ticket", ticket_id, ErrorCode.TICKET_NOT_FOUND)
    if not member.covers(row["uai"], row["academie"]):
        await refuse_audited(
            pool,
            member,
            action,
            "ticket",
            ticket_id,
            ErrorCode.STAFF_OUT_OF_SCOPE,
            ErrorCode.TICKET_NOT_FOUND,
        )
    return row


async def ticket_view(pool: asyncpg.Pool, row) -> TicketDetail:
    replies = await assistance_tickets.replies(pool, row["id"])
    return TicketDetail(
        **_ticket_item(row),
        message=row["message"],
        replies=[
            Reply(at=r["created_at"], author=r["display_name"], text=r["body"]) for r in replies
        ],
    )


@router.get(
    "/tickets/{ticket_id}",
    summary="Une demande d'assistance et ses réponses",
    response_model=TicketDetail,
    responses={404: {"model": ErrorBody}},
)
async def ticket(ticket_id: TicketId, member: Staff, pool: Pool) -> TicketDetail:
    row = await ticket_in_scope(pool, member, ticket_id, "ticket.view")
    await audit.record(pool, member.actor, "ticket.view", "ticket", ticket_id)
    return await ticket_view(pool, row)


@router.post(
    "/tickets/{ticket_id}/answer",
    summary="Répondre à une demande d'assistance (la réponse part par email)",
    response_model=TicketDetail,
    responses={404: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def answer_ticket(
    ticket_id: TicketId, body: TicketAnswerBody, member: Staff, pool: Pool
) -> TicketDetail:
    return await ticket_view(pool, await answer_ticket_as(pool, member, ticket_id, body.message))


async def answer_ticket_as(
    pool: asyncpg.Pool, member: StaffMember, ticket_id: uuid.UUID, message: str
) -> asyncpg.Record:
    """Send `member`'s answer by email, then record and audit it (the JSON API
    and the staff pages); the ticket as it now is."""
    row = await ticket_in_scope(pool, member, ticket_id, "ticket.answer")
    text = message.strip()
    if not text:
        raise DomainError(
            ErrorCode.INVALID_INPUT, [{"field": "message", "message": "Ce champ est obligatoire."}]
        )
    reply_id = uuid.uuid4()
    email = correction_emails.ticket_answer(
        to=row["email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        ticket_id=ticket_id,
        category_label=TICKET_CATEGORY_LABELS[TicketCategory(row["category"])],
        question=row["message"],
        answer=text,
        staff_label=member.display_name,
    )
    # The answer is recorded once it went out: an SMTP failure leaves nothing half done.
    try:
        await send_email_once(pool, f"ticket-reply/{reply_id}", email, "ticket_answer")
    except Exception as err:  # noqa: BLE001 - SMTP refused, timeout...
        await refuse_audited(pool, member, "ticket.answer", "ticket", ticket_id, ErrorCode.SERVICE_UNAVAILABLE,
                      error=type(err).__name__)  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        await assistance_tickets.record_reply(conn, reply_id, ticket_id, member, text)
        await audit.record(
            conn,
            member.actor,
            "ticket.answer",
            "ticket",
            ticket_id,
            details={"reply_id": str(reply_id)},
        )
    fresh = await assistance_tickets.ticket(pool, ticket_id)
    return fresh
