"""Disputes "Je ne suis pas le représentant légal" (issue 13, item 7): the
children families flagged, awaiting review first; confirm the link (the
child shows again) or detach the child, each confirmed first, then decided
as the JSON API decides (`api.routers.merge.decide_dispute`: scope, audit).
Another school's dispute reads as unknown."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import QUEUE_LIMIT, Pool, audit_listing
from api.routers.merge import decide_dispute
from api.web import paths
from api.web.forms import FormState, errors_of, notice, read_form, redirect
from api.web.staff.access import StaffPage, render_staff
from educonnect import child_attachments
from educonnect.errors import DomainError, ErrorCode

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

DISPUTE_FORM = "gestion-contestation"


@dataclass(frozen=True)
class DisputeAction:
    slug: str
    decision: str  # the JSON API's
    button: str
    confirm_button: str
    confirm: str
    done: str


ACTIONS = {
    a.slug: a
    for a in (
        DisputeAction("confirmer", "link_confirmed", "Le rattachement est exact",
                      "Oui, le rattachement est exact",
                      "L’enfant réapparaîtra dans le compte de ce responsable.",
                      "Rattachement confirmé : l’enfant réapparaît dans le compte du responsable."),
        DisputeAction("detacher", "detached", "Détacher l’enfant", "Oui, détacher l’enfant",
                      "L’enfant sera détaché du compte de ce responsable ; le dossier de l’élève n’est pas modifié.",
                      "Enfant détaché du compte du responsable."),
    )
}  # fmt: skip
STATUS_LABELS = {
    "awaiting_review": "À traiter",
    "link_confirmed": "Rattachement confirmé",
    "detached": "Enfant détaché",
}


@router.get(paths.GESTION_DISPUTES)
async def disputes(request: Request, member: StaffPage, pool: Pool):
    rows = await child_attachments.disputes_in_scope(pool, member, QUEUE_LIMIT)
    await audit_listing(pool, member, "attachment.list", len(rows))
    confirming = ACTIONS.get(request.query_params.get("confirmer", ""))
    target = request.query_params.get("signalement", "")
    return render_staff(
        request, member, "staff/disputes.html",
        {"title": "Contestations de rattachement", "rows": rows, "actions": ACTIONS,
         "status_labels": STATUS_LABELS,
         "confirming": confirming if any(str(r["dispute_id"]) == target for r in rows) else None,
         "target": target},
        form=DISPUTE_FORM, current="disputes",
    )  # fmt: skip


@router.post(paths.GESTION_DISPUTE)
async def decide(request: Request, dispute_id: str, member: StaffPage, pool: Pool):
    form = await read_form(request, DISPUTE_FORM)
    if not form.csrf_ok:
        return form.expired(paths.GESTION_DISPUTES)
    action = ACTIONS.get(form.get("action"))
    try:
        wanted = uuid.UUID(dispute_id)
    except ValueError:
        wanted = None
    if action is None or wanted is None:
        err = DomainError(ErrorCode.DISPUTE_NOT_FOUND)
        return form.refused(paths.GESTION_DISPUTES, errors_of(err))
    if form.get("confirme") != "oui":
        return redirect(
            f"{paths.GESTION_DISPUTES}?confirmer={action.slug}&signalement={wanted}#confirmation",
            FormState(form=DISPUTE_FORM),
        )
    try:
        await decide_dispute(pool, member, wanted, action.decision)
    except DomainError as err:
        return form.refused(paths.GESTION_DISPUTES, errors_of(err))
    return notice(paths.GESTION_DISPUTES, DISPUTE_FORM, action.done)
