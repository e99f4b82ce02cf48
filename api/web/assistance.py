"""Assistance as pages (DESIGN §3.7; FAQ 6): the birthdate-correction form
of a guardian's activation blocked on a birthdate, the follow-up page of a
request (its state, the school's questions and the answer form, the
decision), and the ticket form (the académie's assistance).

They call what the JSON routes call (`api.routers.assistance`,
`api.correction_form`):

    ASSISTANCE_CORRECTION            the form (activation session)  -> the request's page
    assistance_request(id)           state, exchanges, question, decision
    assistance_answer(id)            POST: the answer to the school's question
    ASSISTANCE_TICKET                the ticket form -> ASSISTANCE_TICKET_SENT

Once the school approves, the activation goes back to "Gérer mon compte":
the request's page says so and leads there."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from api.correction_filing import MESSAGE_MAX
from api.correction_form import AnswerBody, answer_staff, request_view
from api.deps import Pool, Temporal, get_pool, request_client_ip, require_session
from api.routers.activation import PROCESS
from api.routers.assistance import (
    CorrectionRequestBody,
    TicketBody,
    file_guardian_correction,
    file_ticket,
    guardian_form,
)
from api.web import paths
from api.web.activation import page_of
from api.web.forms import (
    back_home,
    errors_of,
    named,
    notice,
    read_form,
    render,
    typed_date,
    validation_errors,
)
from educonnect import assistance_tickets
from educonnect.errors import DomainError, ErrorCode
from educonnect.french_dates import french_date
from educonnect.models.activation import ActivationStep
from educonnect.models.corrections import (
    OPEN_STEPS,
    TICKET_CATEGORY_LABELS,
    CorrectionStep,
    TicketCategory,
)
from workflows.activation import workflow_id as activation_workflow_id

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

CORRECTION_FORM = "correction-date-de-naissance"
ANSWER_FORM = "correction-reponse"
TICKET_FORM = "assistance-contact"
REFRESH_SECONDS = 30  # the request's page asks again this often while the school decides

CORRECTION_STEPS = (
    "Date de naissance refusée",
    "Demande de correction",
    "Décision de l’établissement",
)

# The forms' labels, to name a field in the summary at the top.
CORRECTION_LABELS = {
    "pupil_id": "L’enfant concerné",
    "proposed_birthdate": "Date de naissance exacte de l’enfant",
    "message": "Votre message à l’établissement",
    "email": "Autre adresse électronique",
    "mobile": "Autre numéro de mobile",
}
ANSWER_LABELS = {"message": "Votre réponse"}
TICKET_LABELS = {
    "last_name": "Nom",
    "first_name": "Prénom",
    "email": "Adresse électronique",
    "category": "Sujet",
    "message": "Votre message",
}

# Where each refusal of the correction form is shown.
CORRECTION_FIELDS = {
    ErrorCode.CORRECTION_PUPIL_UNKNOWN: "pupil_id",
    ErrorCode.CORRECTION_DATE_INVALID: "proposed_birthdate",
    ErrorCode.EMAIL_INVALID: "email",
    ErrorCode.PHONE_INVALID: "mobile",
}


async def _account_id(request: Request) -> uuid.UUID | None:
    """The account of the activation session, or None (the page then sends the person home)."""
    try:
        session = await require_session("activation")(
            get_pool(request), request.cookies.get("educonnect_session")
        )
    except DomainError:
        return None
    return session.account_id


# --- the correction form ---------------------------------------------------------------------


@router.get(paths.ASSISTANCE_CORRECTION)
async def correction_page(request: Request, pool: Pool, temporal: Temporal):
    account_id = await _account_id(request)
    if account_id is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    try:
        view = await guardian_form(pool, account_id)
        status = await PROCESS.calls.status(temporal, account_id)
    except DomainError as err:
        return back_home(err)
    blocked = status.step == ActivationStep.BIRTHDATE_BLOCKED
    open_requests = [r for r in view.requests if r.status in OPEN_STEPS]
    return render(
        request,
        "assistance/correction.html",
        {
            "title": "Demande de correction de date de naissance",
            "view": view,
            "blocked": blocked,
            "resume_url": page_of(status.step),
            "open_requests": open_requests,
            "steps": CORRECTION_STEPS,
            "message_max": MESSAGE_MAX,
        },
        form=CORRECTION_FORM,
    )


@router.post(paths.ASSISTANCE_CORRECTION)
async def correction_submit(request: Request, pool: Pool, temporal: Temporal):
    here = paths.ASSISTANCE_CORRECTION
    form = await read_form(request, CORRECTION_FORM)
    if not form.csrf_ok:
        return form.expired(here)
    account_id = await _account_id(request)
    if account_id is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    errors: list = []
    proposed = typed_date(form, "proposed_birthdate", errors)
    contact = form.get("contact") or "email"
    values = {
        "pupil_id": form.get("pupil_id") or None,
        "proposed_birthdate": proposed,
        "message": form.get("message"),
        "contact": contact,
        "email": form.get("email").strip() or None,
        "mobile": form.get("mobile").strip() or None,
    }
    try:
        body = CorrectionRequestBody.model_validate(values)
    except ValidationError as exc:
        said = {e.field for e in errors}
        more = [e for e in validation_errors(exc, form.values) if e.field not in said]
        return form.refused(here, named(errors + more, CORRECTION_LABELS))
    if errors:
        return form.refused(here, named(errors, CORRECTION_LABELS))
    try:
        receipt = await file_guardian_correction(pool, temporal, account_id, body)
    except DomainError as err:
        if err.code in (ErrorCode.SESSION_REQUIRED, ErrorCode.PROCESS_NOT_FOUND):
            return back_home(err)
        return form.refused(here, named(errors_of(err, CORRECTION_FIELDS), CORRECTION_LABELS))
    return notice(paths.assistance_request(receipt.request_id), ANSWER_FORM, receipt.message)


# --- following a request ------------------------------------------------------------------------


@router.get("/assistance/demandes/{request_id}")
async def request_page(request: Request, request_id: str, pool: Pool, temporal: Temporal):
    account_id = await _account_id(request)
    if account_id is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    try:
        view = await request_view(pool, uuid.UUID(request_id), activation_workflow_id(account_id))
    except (ValueError, DomainError) as err:
        return back_home(
            err if isinstance(err, DomainError) else DomainError(ErrorCode.CORRECTION_NOT_FOUND)
        )
    try:
        status = await PROCESS.calls.status(temporal, account_id)
        resume_url: str | None = page_of(status.step)
        resumed = status.step == ActivationStep.PROFILE
    except DomainError:
        resume_url, resumed = None, False
    step = {
        CorrectionStep.AWAITING_REVIEW: 2,
        CorrectionStep.AWAITING_INFORMATION: 2,
        CorrectionStep.ESCALATED: 2,
    }.get(view.status, 3)
    return render(
        request,
        "assistance/request.html",
        {
            "title": f"Demande n° {view.reference}",
            "view": view,
            "step": step,
            "steps": CORRECTION_STEPS,
            "proposed": french_date(view.proposed_birthdate),
            "corrected": french_date(view.corrected_birthdate)
            if view.corrected_birthdate
            else None,
            "approved": view.status == CorrectionStep.APPROVED,
            "rejected": view.status == CorrectionStep.REJECTED,
            "awaiting_information": view.status == CorrectionStep.AWAITING_INFORMATION,
            "is_open": view.status in OPEN_STEPS,
            "resume_url": resume_url,
            "resumed": resumed,
            "refresh_seconds": REFRESH_SECONDS,
            "message_max": MESSAGE_MAX,
        },
        form=ANSWER_FORM,
    )


@router.post("/assistance/demandes/{request_id}/reponse")
async def answer_submit(request: Request, request_id: str, pool: Pool, temporal: Temporal):
    here = paths.assistance_request(request_id)
    form = await read_form(request, ANSWER_FORM)
    if not form.csrf_ok:
        return form.expired(here)
    account_id = await _account_id(request)
    if account_id is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    try:
        body = AnswerBody(message=form.get("message"))
    except ValidationError as exc:
        return form.refused(here, named(validation_errors(exc, form.values), ANSWER_LABELS))
    try:
        await answer_staff(
            pool, temporal, uuid.UUID(request_id), activation_workflow_id(account_id), body
        )
    except ValueError:
        return back_home(DomainError(ErrorCode.CORRECTION_NOT_FOUND))
    except DomainError as err:
        if err.code == ErrorCode.CORRECTION_NOT_FOUND:
            return back_home(err)
        return form.refused(
            here, named(errors_of(err, {ErrorCode.INVALID_INPUT: "message"}), ANSWER_LABELS)
        )
    return notice(here, ANSWER_FORM, "Votre réponse a bien été transmise à l’établissement.")


# --- a ticket: the académie's assistance ------------------------------------------------------


@router.get(paths.ASSISTANCE_TICKET)
async def ticket_page(request: Request, pool: Pool):
    return render(
        request,
        "assistance/ticket.html",
        {
            "title": "Contacter l’assistance",
            "categories": [(c.value, TICKET_CATEGORY_LABELS[c]) for c in TicketCategory],
            "academies": await assistance_tickets.academies(pool),
            "message_max": MESSAGE_MAX,
        },
        form=TICKET_FORM,
    )


@router.post(paths.ASSISTANCE_TICKET)
async def ticket_submit(request: Request, pool: Pool):
    here = paths.ASSISTANCE_TICKET
    form = await read_form(request, TICKET_FORM)
    if not form.csrf_ok:
        return form.expired(here)
    try:
        body = TicketBody.model_validate(
            {
                "last_name": form.get("last_name").strip(),
                "first_name": form.get("first_name").strip(),
                "email": form.get("email").strip(),
                "category": form.get("category") or None,
                "message": form.get("message").strip(),
                "uai": form.get("uai").strip() or None,
                "academie": form.get("academie").strip() or None,
            }
        )
    except ValidationError as exc:
        return form.refused(here, named(validation_errors(exc, form.values), TICKET_LABELS))
    try:
        receipt = await file_ticket(pool, body, request_client_ip(request))
    except DomainError as err:
        return form.refused(
            here, named(errors_of(err, {ErrorCode.EMAIL_INVALID: "email"}), TICKET_LABELS)
        )
    return notice(
        paths.ASSISTANCE_TICKET_SENT,
        TICKET_FORM,
        f"{receipt.message} Référence de votre demande : {receipt.reference}.",
    )


@router.get(paths.ASSISTANCE_TICKET_SENT)
async def ticket_sent(request: Request):
    return render(
        request,
        "assistance/ticket_sent.html",
        {"title": "Demande transmise"},
        form=TICKET_FORM,
    )
