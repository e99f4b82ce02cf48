"""The académie's audit log, read-only (issue 13, item 8; DESIGN §4: staff
actions are audited): académie support filters by staff member, school,
action and dates (`educonnect.audit.search`). Other roles: unknown page."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import Pool
from api.web import paths
from api.web.forms import FieldError, FormState
from api.web.staff.access import StaffPage, may_use, not_for_role, render_staff
from educonnect import audit
from educonnect import staff as staff_accounts
from educonnect.csv_import import parse_birthdate
from educonnect.errors import ErrorCode

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

AUDIT_LIMIT = 200
ACTION_LABELS = {
    "staff.sign_in": "Connexion du personnel",
    "staff.sign_out": "Déconnexion du personnel",
    "staff.change_password": "Changement de mot de passe du personnel",
    "correction.list": "Consultation des demandes de correction",
    "correction.view": "Consultation d’une demande de correction",
    "correction.approve": "Demande de correction acceptée",
    "correction.reject": "Demande de correction refusée",
    "correction.ask_information": "Information demandée à la famille",
    "correction.filed": "Demande de correction déposée",
    "correction.joined": "Demande jointe à une demande ouverte",
    "correction.answered": "Réponse de la famille",
    "correction.decision": "Décision appliquée par le processus",
    "correction.rejected": "Refus appliqué par le processus",
    "correction.expired": "Demande close sans décision",
    "pupil.birthdate_corrected": "Date de naissance corrigée",
    "ticket.list": "Consultation des demandes d’assistance",
    "ticket.view": "Consultation d’une demande d’assistance",
    "ticket.answer": "Réponse à une demande d’assistance",
    "attachment.list": "Consultation des contestations",
    "attachment.link_confirmed": "Rattachement confirmé",
    "attachment.detached": "Enfant détaché d’un compte",
    "attachment.dispute": "Rattachement contesté par une famille",
}
FILTER_FORM = "gestion-journal"


@router.get(paths.GESTION_AUDIT)
async def audit_log(request: Request, member: StaffPage, pool: Pool):
    if not may_use(member, "audit"):
        return not_for_role(request, member)
    q = request.query_params
    staff = await staff_accounts.staff_of_academie(pool, member.academie)
    schools = await audit.schools_of(pool, member.academie)
    errors: list[FieldError] = []
    filters = audit.Filters(
        staff_id=_staff_id(q.get("personnel"), {s.id for s in staff}),
        uai=q.get("uai") if q.get("uai") in {s["uai"] for s in schools} else None,
        action=q.get("action") or None,
        since=_day(q.get("du", ""), "du", errors),
        until=_day(q.get("au", ""), "au", errors),
    )
    entries = await audit.search(pool, member.academie, filters, AUDIT_LIMIT)
    state = FormState(form=FILTER_FORM, values=dict(q), errors=errors,
                      code=errors[0].code if errors else None)  # fmt: skip
    return render_staff(
        request, member, "staff/audit.html",
        {"title": "Journal d’audit", "entries": entries, "staff": staff, "schools": schools,
         "actions": await audit.actions_of(pool, member.academie), "labels": ACTION_LABELS,
         "filters": filters, "filter_form": state, "limit": AUDIT_LIMIT},
        current="audit",
    )  # fmt: skip


def _staff_id(raw: str | None, known: set[uuid.UUID]) -> uuid.UUID | None:
    try:
        wanted = uuid.UUID(raw or "")
    except ValueError:
        return None
    return wanted if wanted in known else None


def _day(raw: str, field: str, errors: list[FieldError]):
    if not raw.strip():
        return None
    day = parse_birthdate(raw.strip())  # JJ/MM/AAAA or AAAA-MM-JJ, as every date typed here
    if day is None:
        errors.append(FieldError(field, "Date invalide : format attendu JJ/MM/AAAA.",
                                 ErrorCode.INVALID_INPUT.value))  # fmt: skip
    return day
