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
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.correction_filing import MESSAGE_MAX
from api.correction_form import (
    AnswerBody,
    ChildCorrectionRequest,
    answer_staff,
    correction_form,
    file_correction,
    request_view,
)
from api.correction_routes import Blocked
from api.deps import Pool, Temporal, get_pool, request_client_ip, require_session
from api.routers.activation import PROCESS
from api.routers.assistance import (
    CorrectionRequestBody,
    TicketBody,
    file_guardian_correction,
    file_ticket,
    guardian_form,
)
from api.routers.franceconnect import LINK_COOKIE, blocked_link, link_of_browser
from api.routers.pupil_activation import blocked_pupil
from api.routers.registration import BROWSER as REGISTRATION_BROWSER
from api.routers.registration import blocked_registration
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
from educonnect.blocked_processes import blocked_process
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
from workflows.franceconnect_link import workflow_id as link_workflow_id
from workflows.pupil_activation import workflow_id as pupil_workflow_id
from workflows.sms_registration import workflow_id as registration_workflow_id

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


async def _request_page(
    request: Request,
    pool,
    request_id: str,
    process_id: str,
    *,
    resume_url: str | None,
    resumed: bool,
    here: str,
    answer_url: str,
    form: str,
):
    """A request as the person who filed it from `process_id` sees it."""
    try:
        view = await request_view(pool, uuid.UUID(request_id), process_id)
    except (ValueError, DomainError) as err:
        return back_home(
            err if isinstance(err, DomainError) else DomainError(ErrorCode.CORRECTION_NOT_FOUND)
        )
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
            # answered, the school not yet told (the workflow takes it in a moment)
            "answered": bool(view.exchanges) and view.exchanges[-1].kind == "answer",
            "is_open": view.status in OPEN_STEPS,
            "resume_url": resume_url,
            "resumed": resumed,
            # "l’activation de votre compte", "votre inscription"...
            "resume_what": blocked_process(process_id).resume.replace("'", "’"),
            "here": here,
            "answer_url": answer_url,
            "refresh_seconds": REFRESH_SECONDS,
            "message_max": MESSAGE_MAX,
        },
        form=form,
    )


async def _answer(form, here: str, pool, temporal, request_id: str, process_id: str):
    """The person's answer to the school's question, back to the request's page."""
    try:
        body = AnswerBody(message=form.get("message"))
    except ValidationError as exc:
        return form.refused(here, named(validation_errors(exc, form.values), ANSWER_LABELS))
    try:
        await answer_staff(pool, temporal, uuid.UUID(request_id), process_id, body)
    except ValueError:
        return back_home(DomainError(ErrorCode.CORRECTION_NOT_FOUND))
    except DomainError as err:
        if err.code == ErrorCode.CORRECTION_NOT_FOUND:
            return back_home(err)
        return form.refused(
            here, named(errors_of(err, {ErrorCode.INVALID_INPUT: "message"}), ANSWER_LABELS)
        )
    return notice(here, form.name, "Votre réponse a bien été transmise à l’établissement.")


@router.get("/assistance/demandes/{request_id}")
async def request_page(request: Request, request_id: str, pool: Pool, temporal: Temporal):
    account_id = await _account_id(request)
    if account_id is None:
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    try:
        status = await PROCESS.calls.status(temporal, account_id)
        resume_url: str | None = page_of(status.step)
        resumed = status.step == ActivationStep.PROFILE
    except DomainError:
        resume_url, resumed = None, False
    return await _request_page(
        request,
        pool,
        request_id,
        activation_workflow_id(account_id),
        resume_url=resume_url,
        resumed=resumed,
        here=paths.assistance_request(request_id),
        answer_url=paths.assistance_answer(request_id),
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
    return await _answer(form, here, pool, temporal, request_id, activation_workflow_id(account_id))


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


# --- the same pages for the processes that file through a `Blocked` --------------------------
#
# SMS registration, the FranceConnect first visit and pupil activation each know
# the person in their own way (`api.correction_routes.Blocked`: who asks, how
# they will be told). `add_blocked_correction_pages` mounts the form and the
# follow-up page of one of them; the pupil's activation is mounted below, the
# others' page modules mount theirs with a `blocked` that reads their browser
# binding (e.g. `blocked_registration` of `api.routers.registration`).

BlockedOf = Callable[[Request, Any, Any, str], Awaitable[Blocked]]
ProcessOf = Callable[[Request, Any, str], Awaitable[str]]


def add_blocked_correction_pages(
    router: APIRouter,
    path: str,
    *,
    blocked: BlockedOf,
    process_of: ProcessOf,
    back_url: Callable[[str], str],
    name: str,
) -> None:
    """`GET/POST path` (the form), `GET path/{request_id}` (a request) and
    `POST path/{request_id}/reponse` on `router`. `path` may hold `{key}`, the
    process's id in the address; `blocked(request, pool, temporal, key)`
    raises `DomainError` unless the process is blocked on a birthdate;
    `process_of(request, pool, key)` is the process's id if this browser holds
    it (a request's page stays readable once the process goes on)."""
    form_name, answer_name = f"correction-{name}", f"correction-reponse-{name}"

    async def who(request: Request, pool, temporal, key: str) -> Blocked | Response:
        try:
            return await blocked(request, pool, temporal, key)
        except DomainError as err:
            return back_home(err)

    @router.get(path)
    async def blocked_correction_page(
        request: Request, pool: Pool, temporal: Temporal, key: str = ""
    ):
        found = await who(request, pool, temporal, key)
        if isinstance(found, Response):
            return found
        view = await correction_form(pool, found.requester, contact=found.contact)
        process = blocked_process(found.requester.process_id)
        return render(
            request,
            "assistance/correction.html",
            {
                "title": "Demande de correction de date de naissance",
                "view": view,
                "blocked": True,
                "resume_url": back_url(key),
                "own_birthdate": process.own_birthdate,
                "back_label": f"Retour à {process.resume}".replace("'", "’"),
                "action": path.format(key=key),
                "request_url": lambda rid: f"{path.format(key=key)}/{rid}",
                "steps": CORRECTION_STEPS,
                "message_max": MESSAGE_MAX,
            },
            form=form_name,
        )

    @router.post(path)
    async def blocked_correction_submit(
        request: Request, pool: Pool, temporal: Temporal, key: str = ""
    ):
        here = path.format(key=key)
        form = await read_form(request, form_name)
        if not form.csrf_ok:
            return form.expired(here)
        found = await who(request, pool, temporal, key)
        if isinstance(found, Response):
            return found
        errors: list = []
        proposed = typed_date(form, "proposed_birthdate", errors)
        pupil = form.get("pupil_id") or (
            str(found.requester.children[0].pupil_id)
            if len(found.requester.children) == 1
            else None
        )
        try:
            body = ChildCorrectionRequest.model_validate(
                {"pupil_id": pupil, "proposed_birthdate": proposed, "message": form.get("message")}
            )
        except ValidationError as exc:
            said = {e.field for e in errors}
            more = [e for e in validation_errors(exc, form.values) if e.field not in said]
            return form.refused(here, named(errors + more, CORRECTION_LABELS))
        if errors:
            return form.refused(here, named(errors, CORRECTION_LABELS))
        try:
            receipt = await file_correction(
                pool, temporal, found.requester, body.pupil_id, body, found.contact
            )
        except DomainError as err:
            return form.refused(here, named(errors_of(err, CORRECTION_FIELDS), CORRECTION_LABELS))
        return notice(f"{here}/{receipt.request_id}", answer_name, receipt.message)

    @router.get(path + "/{request_id}")
    async def blocked_request_page(
        request: Request, request_id: str, pool: Pool, temporal: Temporal, key: str = ""
    ):
        try:
            process_id = await process_of(request, pool, key)
        except DomainError as err:
            return back_home(err)
        base = path.format(key=key)
        return await _request_page(
            request,
            pool,
            request_id,
            process_id,
            resume_url=back_url(key),
            resumed=False,
            here=f"{base}/{request_id}",
            answer_url=f"{base}/{request_id}/reponse",
            form=answer_name,
        )

    @router.post(path + "/{request_id}/reponse")
    async def blocked_answer_submit(
        request: Request, request_id: str, pool: Pool, temporal: Temporal, key: str = ""
    ):
        here = f"{path.format(key=key)}/{request_id}"
        form = await read_form(request, answer_name)
        if not form.csrf_ok:
            return form.expired(here)
        try:
            process_id = await process_of(request, pool, key)
        except DomainError as err:
            return back_home(err)
        return await _answer(form, here, pool, temporal, request_id, process_id)


# The pupil's own birthdate (`api.routers.pupil_activation.blocked_pupil`), under
# the pupil's activation session.


async def _blocked_pupil(request: Request, pool, temporal, key: str) -> Blocked:
    session = await require_session("activation")(pool, request.cookies.get("educonnect_session"))
    return await blocked_pupil(session, pool, temporal)


async def _pupil_process(request: Request, pool, key: str) -> str:
    session = await require_session("activation")(pool, request.cookies.get("educonnect_session"))
    return pupil_workflow_id(session.account_id)


add_blocked_correction_pages(
    router,
    paths.PUPIL_CORRECTION,
    blocked=_blocked_pupil,
    process_of=_pupil_process,
    back_url=lambda key: paths.PUPIL_ACTIVATION_BLOCKED,
    name="eleve",
)


# SMS registration (`blocked_registration`): the attempt's id in the address, its
# browser cookie sent under `/inscription/<id>`.


def _registration_id(key: str) -> uuid.UUID:
    try:
        return uuid.UUID(key)
    except ValueError:
        raise DomainError(ErrorCode.REGISTRATION_NOT_FOUND) from None


async def _blocked_registration(request: Request, pool, temporal, key: str) -> Blocked:
    return await blocked_registration(
        _registration_id(key), pool, temporal, request.cookies.get(REGISTRATION_BROWSER.cookie)
    )


async def _registration_process(request: Request, pool, key: str) -> str:
    process_id = registration_workflow_id(_registration_id(key))
    await REGISTRATION_BROWSER.require(
        pool, process_id, request.cookies.get(REGISTRATION_BROWSER.cookie)
    )
    return process_id


add_blocked_correction_pages(
    router,
    paths.SMS_REGISTRATION_CORRECTION.replace("{registration_id}", "{key}"),
    blocked=_blocked_registration,
    process_of=_registration_process,
    back_url=lambda key: paths.SMS_REGISTRATION_BLOCKED.format(registration_id=key),
    name="inscription",
)


# FranceConnect's first visit (`blocked_link`): the visit this browser drives
# (its cookie, sent under `/franceconnect`).


async def _link_id(request: Request, pool) -> uuid.UUID:
    link_id = await link_of_browser(pool, request.cookies.get(LINK_COOKIE))
    if link_id is None:
        raise DomainError(ErrorCode.FRANCECONNECT_LINK_NOT_FOUND)
    return link_id


async def _blocked_link(request: Request, pool, temporal, key: str) -> Blocked:
    link_id = await _link_id(request, pool)
    return await blocked_link(link_id, pool, temporal, request.cookies.get(LINK_COOKIE))


async def _link_process(request: Request, pool, key: str) -> str:
    return link_workflow_id(await _link_id(request, pool))


add_blocked_correction_pages(
    router,
    paths.FRANCECONNECT_CORRECTION,
    blocked=_blocked_link,
    process_of=_link_process,
    back_url=lambda key: paths.FRANCECONNECT_BLOCKED,
    name="franceconnect",
)
