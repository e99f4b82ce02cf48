"""One account per family (DESIGN §3.10, FAQ 12-13).

- "Ajouter des enfants depuis un autre compte": signed in recently (≤ 15 min)
  with the account to keep, the guardian gives the other account's identifier
  and password; the password is checked here, under the other account's
  sign-in limits, and the workflow `account-merge/<kept-account-id>` does the rest.
- "Je ne suis pas le représentant légal de cet élève": the child is hidden from
  the account at once and the flag goes to the school's staff, who confirm the
  link or detach the child (routes under /staff, audited).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import (
    QUEUE_LIMIT,
    Pool,
    PortalSession,
    RecentPortalSession,
    Staff,
    Temporal,
    audit_listing,
    refuse_audited,
    request_client_ip,
)
from api.errors import ErrorBody
from api.process_calls import ProcessCalls
from educonnect import audit, child_attachments
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.merge import MergeInput, MergeResult, MergeStatus, MergeStep
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP
from educonnect.sessions import Session
from educonnect.settings import get_settings
from educonnect.sign_in_limits import check_credentials_limited
from educonnect.staff import StaffMember
from workflows.account_merge import AccountMergeWorkflow, workflow_id

router = APIRouter(prefix="/account", tags=["Gérer mon compte : mes enfants"])
staff_router = APIRouter(prefix="/staff/attachment-disputes", tags=["Personnel : enfants signalés"])

MERGE_WAIT_S = 20


class MergeRequest(BaseModel):
    identifier: str = Field(
        min_length=1, max_length=64, description="Identifiant de l'autre compte"
    )
    password: str = Field(
        min_length=1, max_length=128, description="Mot de passe de l'autre compte"
    )


class MergeView(BaseModel):
    step: MergeStep
    kept_identifier: str
    other_identifier: str
    children_moved: int
    message: str


MERGE = ProcessCalls(AccountMergeWorkflow, workflow_id, not_found=ErrorCode.MERGE_NOT_FOUND)


async def _start(temporal: Client, params: MergeInput, identifier: str):
    options: dict[str, Any] = dict(
        id=workflow_id(params.kept_account_id),
        task_queue=get_settings().task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(PROCESS_STEP, MergeStep.CHECKING.value),
                SearchAttributePair(ACCOUNT_ID, str(params.kept_account_id)),
            ]
        ),
        static_summary=f"Regroupement de comptes vers {identifier}",
    )
    for _ in range(3):
        try:
            return await temporal.start_workflow(AccountMergeWorkflow.run, params, **options)
        except WorkflowAlreadyStartedError:
            # One merge at a time per kept account: let the running one end.
            running = MERGE.handle(temporal, params.kept_account_id)
            try:
                await asyncio.wait_for(running.result(), MERGE_WAIT_S)
            except (TimeoutError, WorkflowFailureError):
                pass
    raise DomainError(ErrorCode.SERVICE_UNAVAILABLE)


@router.post(
    "/merge",
    summary="Ajouter des enfants depuis un autre compte (regrouper deux comptes)",
    description=(
        "Connecté depuis moins de 15 minutes avec le compte à conserver, saisissez l'identifiant et le mot de passe "
        "(ou le mot de passe provisoire) de l'autre compte. Ses enfants sont rattachés au compte conservé ; "
        "l'autre compte est fermé."
    ),
    response_model=MergeView,
    responses={
        401: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
        429: {"model": ErrorBody},
    },
)
async def merge(
    body: MergeRequest,
    request: Request,
    session: RecentPortalSession,
    pool: Pool,
    temporal: Temporal,
) -> MergeView:
    return await merge_accounts(pool, temporal, session, body, request_client_ip(request))


async def merge_accounts(
    pool: asyncpg.Pool, temporal: Client, session: Session, body: MergeRequest, client_ip: str
) -> MergeView:
    """Merge the other account (its credentials in `body`) into the signed-in
    one (the caller checked the sign-in is recent); waits for the workflow."""
    try:  # a wrong password counts against the OTHER account's limits
        other = await check_credentials_limited(pool, body.identifier, body.password, client_ip)
    except DomainError as refused:
        if refused.code == ErrorCode.ACCOUNT_MERGED:
            raise DomainError(ErrorCode.MERGE_ALREADY_MERGED) from None
        raise
    kept_identifier = await child_attachments.account_identifier(pool, session.account_id)
    assert kept_identifier is not None  # the account signed in
    merge_id = uuid.uuid4()
    await child_attachments.record_merge(pool, merge_id, session.account_id, other.account_id)
    handle = await _start(
        temporal,
        MergeInput(
            merge_id=merge_id, kept_account_id=session.account_id, other_account_id=other.account_id
        ),
        kept_identifier,
    )
    try:
        result: MergeResult = await asyncio.wait_for(handle.result(), MERGE_WAIT_S)
    except TimeoutError:
        raise DomainError(ErrorCode.SERVICE_UNAVAILABLE) from None
    if result.refusal is not None:
        raise DomainError(result.refusal)
    n = result.children_moved
    return MergeView(
        step=result.step,
        kept_identifier=result.kept_identifier,
        other_identifier=result.other_identifier,
        children_moved=n,
        message=(
            f"Vos comptes sont regroupés : {n} enfant{'s' if n > 1 else ''} "
            f"{'ont été rattachés' if n > 1 else 'a été rattaché'} à votre compte {result.kept_identifier}. "
            f"L'identifiant {result.other_identifier} ne permet plus de se connecter."
        ),
    )


@router.get("/merge", summary="Le dernier regroupement de comptes", response_model=MergeStatus,
            responses={404: {"model": ErrorBody}})  # fmt: skip
async def merge_status(session: PortalSession, temporal: Temporal) -> MergeStatus:
    return await MERGE.status(temporal, session.account_id)


# --- "Je ne suis pas le représentant légal de cet élève" ---------------------------------


class DisputeReason(StrEnum):
    UNKNOWN_CHILD = "unknown_child"
    NOT_LEGAL_GUARDIAN = "not_legal_guardian"
    OTHER = "other"


DISPUTE_REASONS = {
    DisputeReason.UNKNOWN_CHILD: "Je ne connais pas cet enfant",
    DisputeReason.NOT_LEGAL_GUARDIAN: "Je ne suis pas ou plus son représentant légal",
    DisputeReason.OTHER: "Une autre raison",
}


class NotMyChild(BaseModel):
    reason: DisputeReason | None = Field(
        default=None,
        description="Pourquoi : unknown_child (je ne connais pas cet enfant), not_legal_guardian "
        "(je ne suis pas ou plus son représentant légal), other",
    )


class DisputeFiled(BaseModel):
    dispute_id: uuid.UUID
    message: str


@router.post(
    "/children/{pupil_id}/not-my-child",
    summary="Je ne suis pas le représentant légal de cet élève",
    description="L'enfant n'apparaît plus dans votre compte ; l'établissement vérifie le rattachement.",
    status_code=202,
    response_model=DisputeFiled,
    responses={404: {"model": ErrorBody}},
)
async def not_my_child(
    pupil_id: uuid.UUID, session: PortalSession, pool: Pool, body: NotMyChild | None = None
) -> DisputeFiled:
    return await file_not_my_child(pool, session, pupil_id, body.reason if body else None)


async def file_not_my_child(
    pool: asyncpg.Pool, session: Session, pupil_id: uuid.UUID, reason: DisputeReason | None = None
) -> DisputeFiled:
    """Hide the child from the account and flag the link to the school's staff;
    the reason the person gave (if any) is kept in the audit entry."""
    given = {"reason": reason.value} if reason else {}
    async with pool.acquire() as conn, conn.transaction():
        link = await child_attachments.attached_child(conn, session.account_id, pupil_id)
        if link is None:
            raise DomainError(ErrorCode.CHILD_NOT_ATTACHED)
        dispute_id = await child_attachments.file_dispute(conn, session.account_id, pupil_id, link)
        await audit.record(
            conn, audit.Actor("family", session.account_id, link["identifier"]), "attachment.dispute",
            "pupil", pupil_id, details={"dispute_id": str(dispute_id), "uai": link["uai"], **given},
            idempotency_key=f"attachment-dispute/{dispute_id}/filed",
        )  # fmt: skip
    return DisputeFiled(
        dispute_id=dispute_id,
        message=(
            "Votre signalement a été transmis à l'établissement de l'élève. En attendant sa vérification, "
            "cet enfant n'apparaît plus dans votre compte."
        ),
    )


# --- staff: the queue of flagged attachments ------------------------------------------------


class DisputeView(BaseModel):
    dispute_id: uuid.UUID
    status: str
    created_at: datetime
    uai: str
    pupil_id: uuid.UUID
    pupil_name: str
    class_name: str
    guardian_name: str
    account_identifier: str


def _view(row: asyncpg.Record) -> DisputeView:
    return DisputeView(**{k: row[k] for k in DisputeView.model_fields})


@staff_router.get(
    "",
    summary="Enfants signalés « Je ne suis pas le représentant légal »",
    response_model=list[DisputeView],
)
async def disputes(member: Staff, pool: Pool) -> list[DisputeView]:
    rows = await child_attachments.disputes_in_scope(pool, member, QUEUE_LIMIT)
    await audit_listing(pool, member, "attachment.list", len(rows))
    return [_view(r) for r in rows]


DisputeId = Annotated[uuid.UUID, Path(description="Identifiant du signalement")]


async def decide_dispute(
    pool: asyncpg.Pool, member: StaffMember, dispute_id: uuid.UUID, decision: str
) -> DisputeView:
    action = f"attachment.{decision}"
    refusal: ErrorCode | None = None
    async with pool.acquire() as conn, conn.transaction():
        row = await child_attachments.dispute(conn, dispute_id, for_update=True)
        if row is None:
            refusal = ErrorCode.DISPUTE_NOT_FOUND
        elif not member.covers(row["uai"], row["academie"]):
            refusal = ErrorCode.STAFF_OUT_OF_SCOPE
        elif row["status"] != "awaiting_review":
            refusal = ErrorCode.DISPUTE_CLOSED
        else:
            row = await _apply(conn, member, row, dispute_id, decision, action)
    if refusal is not None:
        # Audited once the transaction is over (raising inside would roll the entry back);
        # another school's dispute answers like an unknown one.
        answer = ErrorCode.DISPUTE_NOT_FOUND if refusal == ErrorCode.STAFF_OUT_OF_SCOPE else refusal
        await refuse_audited(
            pool, member, action, "attachment_dispute", dispute_id, refusal, answer
        )
    return _view(row)


async def _apply(
    conn: asyncpg.Connection,
    member: StaffMember,
    row,
    dispute_id: uuid.UUID,
    decision: str,
    action: str,
):
    """Confirm the link or detach the child, close the dispute, audit; the dispute as it now is."""
    await child_attachments.close_dispute(conn, member, row, decision)
    await audit.record(conn, member.actor, action, "attachment_dispute", dispute_id,
                       details={"pupil_id": str(row["pupil_id"]), "guardian_id": str(row["guardian_id"])})  # fmt: skip
    return await child_attachments.dispute(conn, dispute_id)


@staff_router.post("/{dispute_id}/confirm", summary="Le rattachement est exact : l'enfant réapparaît",
                   response_model=DisputeView, responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}})  # fmt: skip
async def confirm(dispute_id: DisputeId, member: Staff, pool: Pool) -> DisputeView:
    return await decide_dispute(pool, member, dispute_id, "link_confirmed")


@staff_router.post("/{dispute_id}/detach", summary="Le rattachement est erroné : l'enfant est détaché du compte",
                   response_model=DisputeView, responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}})  # fmt: skip
async def detach(dispute_id: DisputeId, member: Staff, pool: Pool) -> DisputeView:
    return await decide_dispute(pool, member, dispute_id, "detached")
