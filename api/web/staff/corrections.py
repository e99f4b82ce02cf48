"""The queue of birthdate corrections and a request's page (issue 13, items
2 and 3; DESIGN §3.7).

- GESTION_REQUESTS: tabs "À traiter", "En attente d'information",
  "Escaladées", "Closes" with their counts, each request's age in days,
  oldest first; académie support filters by school.
- GESTION_REQUEST: the pupil's record, the proposed date, the family's
  message and the exchanges, the timeline (who did what, when), and three
  decisions — approve (the date), reject (a reason), ask for information (a
  question) — each posted, then confirmed on the page (PRG both times), then
  decided through `decide_correction`, as the JSON API decides: the page says
  the outcome the process gave (applied, and the blocked processes resumed;
  refused because decided already; out of scope), not a blind "accepted".

Another school's request reads as unknown (404), as the API answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from api.correction_filing import MESSAGE_MAX
from api.deps import QUEUE_LIMIT, Pool, Temporal, audit_listing
from api.routers.staff_corrections import (
    DECISION_NOTICES,
    DECISION_PENDING,
    PUPIL_NOTICES,
    AskInformationBody,
    Decided,
    RejectBody,
    decide_correction,
    queue_item,
    request_in_scope,
    request_view,
)
from api.web import paths
from api.web.forms import (
    FieldError,
    FormState,
    errors_of,
    named,
    read_form,
    redirect,
    typed_date,
    validation_errors,
)
from api.web.staff.access import StaffPage, found_or_unknown, render_staff, unknown
from educonnect import audit, correction_requests
from educonnect.blocked_processes import blocked_process
from educonnect.errors import DomainError, ErrorCode
from educonnect.french_dates import french_date
from educonnect.models.corrections import CorrectionStep, DecisionKind, DecisionOutcome, StaffRole
from educonnect.staff import StaffMember

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@dataclass(frozen=True)
class Tab:
    slug: str
    label: str
    steps: tuple[CorrectionStep, ...]
    empty: str


TABS = (
    Tab("a-traiter", "À traiter", (CorrectionStep.AWAITING_REVIEW,),
        "Aucune demande n’attend de décision."),
    Tab("information", "En attente d’information", (CorrectionStep.AWAITING_INFORMATION,),
        "Aucune demande n’attend de réponse du demandeur."),
    Tab(paths.ESCALATED_TAB, "Escaladées", (CorrectionStep.ESCALATED,),
        "Aucune demande n’est restée 5 jours sans décision."),
    Tab("closes", "Closes", (CorrectionStep.APPROVED, CorrectionStep.REJECTED, CorrectionStep.EXPIRED),
        "Aucune demande close."),
)  # fmt: skip
TAB_BY_SLUG = {t.slug: t for t in TABS}


def age_in_days(since: datetime, now: datetime | None = None) -> int:
    return max(0, ((now or datetime.now(UTC)) - since).days)


@router.get(paths.GESTION_REQUESTS)
async def queue(request: Request, member: StaffPage, pool: Pool):
    tab = TAB_BY_SLUG.get(request.query_params.get("onglet", ""), TABS[0])
    schools = (
        await correction_requests.schools_with_requests(pool, member)
        if member.role == StaffRole.ACADEMIE_SUPPORT
        else []
    )
    uai = request.query_params.get("uai") or None
    if uai not in {s["uai"] for s in schools}:
        uai = None  # a school administrator's filter is their school; an unknown one: none
    counts = await correction_requests.counts_by_step(pool, member, uai)
    rows = await correction_requests.queue_at(
        pool, member, [s.value for s in tab.steps], uai, QUEUE_LIMIT
    )
    await audit_listing(pool, member, "correction.list", len(rows), onglet=tab.slug, uai=uai)
    now = datetime.now(UTC)
    items = [(queue_item(r), age_in_days(r["created_at"], now)) for r in rows]
    return render_staff(
        request,
        member,
        "staff/requests.html",
        {
            "title": f"Demandes de correction — {tab.label}",
            "tabs": [(t, sum(counts.get(s.value, 0) for s in t.steps)) for t in TABS],
            "tab": tab,
            "items": items,
            "schools": schools,
            "uai": uai,
        },
        current="escalated" if _escalated_nav(member, tab) else "requests",
    )


def _escalated_nav(member: StaffMember, tab: Tab) -> bool:
    return member.role == StaffRole.ACADEMIE_SUPPORT and tab.slug == paths.ESCALATED_TAB


# --- a request ----------------------------------------------------------------------------------

DECISION_FORM = "gestion-decision"


@dataclass(frozen=True)
class Decision:
    slug: str  # in the address: /gestion/demandes/<id>/<slug>
    kind: DecisionKind
    field: str
    label: str
    confirm_title: str
    confirm_button: str


DECISIONS = {
    d.slug: d
    for d in (
        Decision("accepter", DecisionKind.APPROVE, "corrected_birthdate",
                 "Date de naissance exacte", "Confirmer l’acceptation",
                 "Oui, corriger la date de naissance"),
        Decision("refuser", DecisionKind.REJECT, "reason", "Motif du refus",
                 "Confirmer le refus", "Oui, refuser la demande"),
        Decision("question", DecisionKind.ASK_INFORMATION, "question",
                 "Votre question au demandeur", "Confirmer l’envoi de la question",
                 "Oui, envoyer la question"),
    )
}  # fmt: skip


def decision_path(request_id: object, slug: str) -> str:
    return paths.GESTION_REQUEST_DECISION.format(request_id=request_id, decision=slug)


async def _in_scope(request: Request, member: StaffMember, pool, request_id: str, action: str):
    """The request's row, or the French page of an unknown one (out of scope reads the same)."""
    return await found_or_unknown(
        request, member, request_id,
        lambda wanted: request_in_scope(pool, member, wanted, action),
        ErrorCode.CORRECTION_NOT_FOUND,
        back_to=paths.GESTION_REQUESTS, back_label="Retour aux demandes de correction",
    )  # fmt: skip


@router.get(paths.GESTION_REQUEST)
async def request_page(
    request: Request, request_id: str, member: StaffPage, pool: Pool, temporal: Temporal
):
    row, refusal = await _in_scope(request, member, pool, request_id, "correction.view")
    if refusal is not None:
        return refusal
    await audit.record(pool, member.actor, "correction.view", "correction_request", row["id"])
    view = await request_view(pool, temporal, row)
    slug = request.query_params.get("confirmer")
    confirming = DECISIONS.get(slug or "")
    return render_staff(
        request,
        member,
        "staff/request.html",
        {
            "title": f"Demande n° {view.reference}",
            "view": view,
            "open": view.closed_at is None,
            "decisions": DECISIONS,
            "confirming": confirming,
            "decision_path": decision_path,
            "age": age_in_days(view.created_at),
            "message_max": MESSAGE_MAX,
            "from_tab": _tab_of(view.status),
        },
        form=DECISION_FORM,
        current="requests",
    )


def _tab_of(step: CorrectionStep) -> Tab:
    return next(t for t in TABS if step in t.steps)


@router.post(paths.GESTION_REQUEST_DECISION)
async def decide(
    request: Request,
    request_id: str,
    decision: str,
    member: StaffPage,
    pool: Pool,
    temporal: Temporal,
):
    """First post: the typed value checked, then the confirmation (the same page,
    `?confirmer=<decision>`). Second post (`confirme=oui`): the decision."""
    wanted = DECISIONS.get(decision)
    page = paths.gestion_request(request_id)
    if wanted is None:
        return unknown(request, member, ErrorCode.PAGE_NOT_FOUND, back_to=page,
                       back_label="Retour à la demande")  # fmt: skip
    form = await read_form(request, DECISION_FORM)
    if not form.csrf_ok:
        return form.expired(page)
    row, refusal = await _in_scope(
        request, member, pool, request_id, f"correction.{wanted.kind.value}"
    )
    if refusal is not None:
        return refusal
    errors: list[FieldError] = []
    corrected: date | None = None
    text: str | None = None
    try:
        if wanted.kind == DecisionKind.APPROVE:
            corrected = typed_date(form, wanted.field, errors)
            if corrected is None and not errors:
                errors.append(
                    FieldError(
                        wanted.field, "Ce champ est obligatoire.", ErrorCode.INVALID_INPUT.value
                    )
                )
        elif wanted.kind == DecisionKind.REJECT:
            text = RejectBody(reason=form.get("reason")).reason
        else:
            text = AskInformationBody(question=form.get("question")).question
    except ValidationError as exc:
        errors = validation_errors(exc, form.values)
    if text is not None and not text.strip():
        errors.append(
            FieldError(wanted.field, "Ce champ est obligatoire.", ErrorCode.INVALID_INPUT.value)
        )
    if errors:
        return form.refused(f"{page}#decider", named(errors, {wanted.field: wanted.label}))
    if form.get("confirme") != "oui":  # the typed value, to confirm
        state = FormState(form=DECISION_FORM, values={wanted.field: form.get(wanted.field)})
        return redirect(f"{page}?confirmer={wanted.slug}#confirmation", state)
    try:
        decided = await decide_correction(
            pool, temporal, member, row["id"], wanted.kind,
            corrected_birthdate=corrected, text=text,
        )  # fmt: skip
    except DomainError as err:
        if err.code == ErrorCode.CORRECTION_NOT_FOUND:
            return unknown(request, member, err.code, back_to=paths.GESTION_REQUESTS,
                           back_label="Retour aux demandes de correction")  # fmt: skip
        field = {ErrorCode.CORRECTION_DATE_UNCHANGED: wanted.field,
                 ErrorCode.CORRECTION_DATE_INVALID: wanted.field}  # fmt: skip
        return form.refused(f"{page}#decider", errors_of(err, field))
    participants = await correction_requests.participants(pool, row["id"])
    school_informs = any(p["contact_channel"] == "school" for p in participants)
    text_notice, outcome = outcome_notice(decided, school_informs)
    return redirect(page, FormState(form=DECISION_FORM, notice=text_notice, code=outcome))


def outcome_notice(decided: Decided, school_informs: bool) -> tuple[str, str]:
    """What the page says of the process's answer, and the outcome's code (`data-outcome`)."""
    answer = decided.answer
    if answer is None:
        return DECISION_PENDING, "pending"
    said = DECISION_NOTICES[decided.kind]
    if decided.kind == DecisionKind.APPROVE and decided.row["corrected_birthdate"]:
        said = said.replace(
            "est corrigée",
            f"est corrigée ({french_date(decided.row['corrected_birthdate'])})",
        )
    if decided.kind == DecisionKind.APPROVE:
        resumed = [blocked_process(p).label for p in answer.resumed]
        if resumed:
            said += (
                " Le processus bloqué a repris à l’étape de la date de naissance : "
                + " ; ".join(resumed)
                + "."
            )
        if answer.not_resumed:
            said += (" Un processus bloqué n’a pas confirmé sa reprise (terminé ou expiré) : "
                     "le demandeur est prévenu et peut recommencer.")  # fmt: skip
    if school_informs:  # a pupil without an address asked: nothing was sent to them
        said = PUPIL_NOTICES[decided.kind] + said.partition(".")[2]
    return said, DecisionOutcome.APPLIED.value
