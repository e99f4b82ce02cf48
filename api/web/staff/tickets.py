"""Assistance tickets (issue 13, item 4): the list of the member's scope
(unanswered first, oldest first), a ticket with its answers, and the answer
form (sent by email, then recorded: `api.routers.staff_tickets.answer_ticket_as`,
as the JSON API answers). Another school's ticket reads as unknown."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from api.correction_filing import MESSAGE_MAX
from api.deps import QUEUE_LIMIT, Pool, audit_listing
from api.routers.staff_tickets import (
    TicketAnswerBody,
    TicketItem,
    _ticket_item,
    answer_ticket_as,
    ticket_in_scope,
    ticket_view,
)
from api.web import paths
from api.web.forms import errors_of, named, notice, read_form, validation_errors
from api.web.staff.access import StaffPage, found_or_unknown, render_staff
from api.web.staff.corrections import age_in_days
from educonnect import assistance_tickets, audit
from educonnect.errors import DomainError, ErrorCode

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

ANSWER_FORM = "gestion-ticket-reponse"


@router.get(paths.GESTION_TICKETS)
async def tickets(request: Request, member: StaffPage, pool: Pool):
    rows = await assistance_tickets.tickets_in_scope(pool, member, QUEUE_LIMIT)
    await audit_listing(pool, member, "ticket.list", len(rows))
    now = datetime.now(UTC)
    items = [(TicketItem(**_ticket_item(r)), age_in_days(r["created_at"], now)) for r in rows]
    return render_staff(
        request, member, "staff/tickets.html",
        {"title": "Demandes d’assistance", "items": items,
         "open_count": sum(1 for t, _ in items if t.status == "open")},
        current="tickets",
    )  # fmt: skip


async def _ticket(request: Request, member, pool, ticket_id: str, action: str):
    return await found_or_unknown(
        request, member, ticket_id,
        lambda wanted: ticket_in_scope(pool, member, wanted, action),
        ErrorCode.TICKET_NOT_FOUND,
        back_to=paths.GESTION_TICKETS, back_label="Retour aux demandes d’assistance",
    )  # fmt: skip


@router.get(paths.GESTION_TICKET)
async def ticket(request: Request, ticket_id: str, member: StaffPage, pool: Pool):
    row, refusal = await _ticket(request, member, pool, ticket_id, "ticket.view")
    if refusal is not None:
        return refusal
    await audit.record(pool, member.actor, "ticket.view", "ticket", row["id"])
    view = await ticket_view(pool, row)
    return render_staff(
        request, member, "staff/ticket.html",
        {"title": f"Demande d’assistance n° {view.reference}", "view": view,
         "message_max": MESSAGE_MAX},
        form=ANSWER_FORM, current="tickets",
    )  # fmt: skip


@router.post(paths.GESTION_TICKET)
async def answer(request: Request, ticket_id: str, member: StaffPage, pool: Pool):
    page = paths.gestion_ticket(ticket_id)
    form = await read_form(request, ANSWER_FORM)
    if not form.csrf_ok:
        return form.expired(page)
    row, refusal = await _ticket(request, member, pool, ticket_id, "ticket.answer")
    if refusal is not None:
        return refusal
    labels = {"message": "Votre réponse"}
    try:
        body = TicketAnswerBody(message=form.get("message"))
        await answer_ticket_as(pool, member, row["id"], body.message)
    except ValidationError as exc:
        return form.refused(page, named(validation_errors(exc, form.values), labels))
    except DomainError as err:
        return form.refused(page, named(errors_of(err), labels))
    return notice(page, ANSWER_FORM, f"Votre réponse est envoyée à {row['email']}.")
