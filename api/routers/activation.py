"""Activation with school-issued credentials (DESIGN §3.1, FAQ 2.2, 7).

Sign-in with the provisional credentials (`POST /sign-in`) starts or resumes
the workflow `activation/<account-id>`; these routes are its steps."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated

import asyncpg
from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Form, Query
from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from api import pages
from api.correction_form import CorrectionInfo, RequestSummary, latest_request
from api.deps import ActivationSession, Pool, Temporal
from api.errors import ErrorBody
from educonnect.credentials import CheckedAccount
from educonnect.errors import MESSAGES, DomainError, ErrorCode
from educonnect.models.activation import (
    ActivationInput,
    ActivationResult,
    ActivationStatus,
    ActivationStep,
    EmailCorrection,
    LinkClicked,
    ProfileSubmission,
    ResendRequest,
)
from educonnect.passwords import check_password_policy, hash_password_async
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP
from educonnect.settings import get_settings
from educonnect.tokens import token_hash
from workflows.activation import ActivationWorkflow, workflow_id

router = APIRouter(prefix="/activation", tags=["Activation du compte"])

ASSISTANCE_URL = "/assistance/date-de-naissance"  # the correction process plugs in here
UPDATE_TIMEOUT_S = 20
CLICK_RESULT_TIMEOUT_S = 10


class ActivationView(ActivationStatus, CorrectionInfo):
    """The activation's status, and the birthdate correction once blocked."""


class ProfileRequest(BaseModel):
    password: str = Field(max_length=128, description="Nouveau mot de passe")
    password_confirmation: str = Field(max_length=128)
    email: str = Field(max_length=254, description="Adresse électronique, confirmée par un lien")
    child_birthdate: date = Field(description="Date de naissance d'un de vos enfants (AAAA-MM-JJ)")


class EmailRequest(BaseModel):
    email: str = Field(max_length=254)


class LinkSentView(BaseModel):
    email: str
    sent_at: datetime
    message: str


def _view(status: ActivationStatus, correction: RequestSummary | None = None) -> ActivationView:
    blocked = status.step == ActivationStep.BIRTHDATE_BLOCKED
    return ActivationView(
        **status.model_dump(), assistance_url=ASSISTANCE_URL if blocked else None, correction=correction
    )


def normalized_email(address: str) -> str:
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise DomainError(ErrorCode.EMAIL_INVALID) from None


async def start_or_resume_activation(temporal: Client, pool: asyncpg.Pool, account: CheckedAccount) -> ActivationView:
    handle = await temporal.start_workflow(
        ActivationWorkflow.run,
        ActivationInput(
            account_id=account.account_id,
            identifier=account.identifier,
            credentials_expire_at=account.provisional_expires_at,
        ),
        id=workflow_id(account.account_id),
        task_queue=get_settings().task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(PROCESS_STEP, ActivationStep.PROFILE.value),
                SearchAttributePair(ACCOUNT_ID, str(account.account_id)),
            ]
        ),
        static_summary=f"Activation du compte {account.identifier}",
    )
    return _view(await handle.query(ActivationWorkflow.status))


def _handle(temporal: Client, session: ActivationSession):
    return temporal.get_workflow_handle_for(ActivationWorkflow.run, workflow_id(session.account_id))


async def _status(temporal: Client, session: ActivationSession) -> ActivationStatus:
    try:
        return await _handle(temporal, session).query(ActivationWorkflow.status)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise DomainError(ErrorCode.PROCESS_NOT_FOUND) from None
        raise


async def _update(call):
    try:
        return await asyncio.wait_for(call, UPDATE_TIMEOUT_S)
    except asyncio.TimeoutError:
        raise DomainError(ErrorCode.SERVICE_UNAVAILABLE) from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise DomainError(ErrorCode.PROCESS_ENDED) from None
        raise


async def _password_context(pool: asyncpg.Pool, account_id) -> dict:
    rows = await pool.fetch(
        """
        SELECT a.identifier, g.first_name AS g_first, g.last_name AS g_last,
               p.first_name AS p_first, p.last_name AS p_last, p.birthdate
        FROM accounts a JOIN guardians g ON g.id = a.guardian_id
        LEFT JOIN guardian_pupils gp ON gp.guardian_id = g.id
        LEFT JOIN pupils p ON p.id = gp.pupil_id
        WHERE a.id = $1
        """,
        account_id,
    )
    names = {n for r in rows for n in (r["g_first"], r["g_last"], r["p_first"], r["p_last"]) if n}
    return {
        "identifier": rows[0]["identifier"] if rows else None,
        "names": names,
        "birthdates": {r["birthdate"] for r in rows if r["birthdate"]},
    }


@router.get("", summary="Où en est mon activation ?", response_model=ActivationView)
async def activation_status(session: ActivationSession, pool: Pool, temporal: Temporal) -> ActivationView:
    status = await _status(temporal, session)
    blocked = status.step == ActivationStep.BIRTHDATE_BLOCKED
    return _view(status, await latest_request(pool, workflow_id(session.account_id), blocked=blocked))


@router.post(
    "/profile",
    summary="Gérer mon compte : mot de passe, adresse électronique, date de naissance d'un enfant",
    response_model=ActivationView,
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}, 423: {"model": ErrorBody}},
)
async def submit_profile(body: ProfileRequest, session: ActivationSession, pool: Pool, temporal: Temporal):
    status = await _status(temporal, session)
    if status.step != ActivationStep.PROFILE:
        code = ErrorCode.BIRTHDATE_BLOCKED if status.step == ActivationStep.BIRTHDATE_BLOCKED else ErrorCode.WRONG_STEP
        raise DomainError(code, [{"assistance_url": ASSISTANCE_URL}] if code == ErrorCode.BIRTHDATE_BLOCKED else [])
    violations = check_password_policy(body.password, **await _password_context(pool, session.account_id))
    if violations:
        raise DomainError(
            ErrorCode.PASSWORD_POLICY, [{"field": "password", "code": v.code, "message": v.message} for v in violations]
        )
    if body.password != body.password_confirmation:
        raise DomainError(ErrorCode.PASSWORD_MISMATCH, [{"field": "password_confirmation"}])
    email = normalized_email(body.email)

    # The password never enters Temporal: its hash waits here for the click.
    await pool.execute(
        """
        INSERT INTO pending_passwords (account_id, process_id, password_hash) VALUES ($1, $2, $3)
        ON CONFLICT (account_id, process_id) DO UPDATE SET password_hash = excluded.password_hash, created_at = now()
        """,
        session.account_id,
        workflow_id(session.account_id),
        await hash_password_async(body.password),
    )
    outcome = await _update(
        _handle(temporal, session).execute_update(
            ActivationWorkflow.submit_profile, ProfileSubmission(email=email, child_birthdate=body.child_birthdate)
        )
    )
    if outcome.error == ErrorCode.BIRTHDATE_BLOCKED:
        raise DomainError(outcome.error, [{"attempts_left": 0, "assistance_url": ASSISTANCE_URL}])
    if outcome.error is not None:
        raise DomainError(
            outcome.error,
            [{"field": "child_birthdate", "attempts_left": outcome.attempts_left}],
            message=f"{MESSAGES[outcome.error]} Il vous reste {outcome.attempts_left} essai(s).",
        )
    return _view(await _status(temporal, session))


@router.post(
    "/resend-link",
    summary="Renvoyer un email de confirmation (l'ancien lien ne fonctionne plus)",
    response_model=LinkSentView,
    responses={409: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def resend_link(session: ActivationSession, temporal: Temporal) -> LinkSentView:
    sent = await _update(_handle(temporal, session).execute_update(ActivationWorkflow.resend_link, ResendRequest()))
    return LinkSentView(email=sent.email, sent_at=sent.sent_at, message=f"Un nouveau lien a été envoyé à {sent.email}.")


@router.post(
    "/email",
    summary="Corriger l'adresse électronique (un nouveau lien part vers la nouvelle adresse)",
    response_model=LinkSentView,
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def correct_email(body: EmailRequest, session: ActivationSession, temporal: Temporal) -> LinkSentView:
    email = normalized_email(body.email)
    sent = await _update(
        _handle(temporal, session).execute_update(ActivationWorkflow.correct_email, EmailCorrection(email=email))
    )
    return LinkSentView(email=sent.email, sent_at=sent.sent_at, message=f"Un nouveau lien a été envoyé à {sent.email}.")


# --- the link in the email ------------------------------------------------------


async def _live_link(pool: asyncpg.Pool, token: str) -> asyncpg.Record:
    """The link of this token if it can still be used; otherwise a French page."""
    link = await pool.fetchrow(
        "SELECT id, process_id, used_at, revoked_at, expires_at <= now() AS expired "
        "FROM email_links WHERE token_hash = $1 AND purpose = 'activation'",
        token_hash(token),
    )
    if link is None:
        raise _LinkRefused(ErrorCode.LINK_INVALID, 404)
    if link["used_at"] is not None:
        raise _LinkRefused(ErrorCode.LINK_ALREADY_USED, 200)
    if link["revoked_at"] is not None:
        raise _LinkRefused(ErrorCode.LINK_REPLACED, 410)
    if link["expired"]:
        raise _LinkRefused(ErrorCode.LINK_EXPIRED, 410)
    return link


class _LinkRefused(Exception):
    def __init__(self, code: ErrorCode, status_code: int):
        self.code, self.status_code = code, status_code

    def page(self):
        title = "Compte déjà activé" if self.code == ErrorCode.LINK_ALREADY_USED else "Lien inutilisable"
        return pages.page(title, MESSAGES[self.code], status_code=self.status_code)


Token = Annotated[str, Query(alias="jeton", min_length=1, max_length=200)]


@router.get("/confirmation", summary="Page ouverte depuis le lien de confirmation", response_class=pages.HTMLResponse)
async def confirmation_page(jeton: Token, pool: Pool):
    # Opening the page changes nothing (mail scanners open links too): the button does.
    try:
        await _live_link(pool, jeton)
    except _LinkRefused as refused:
        return refused.page()
    return pages.page(
        "Activer votre compte",
        "Cliquez sur le bouton pour confirmer votre adresse électronique et activer votre compte EduConnect.",
        extra_html=pages.form_button("/activation/confirmation", {"jeton": jeton}, "Activer mon compte"),
    )


@router.post("/confirmation", summary="Confirmer l'adresse et activer le compte", response_class=pages.HTMLResponse)
async def confirm(jeton: Annotated[str, Form(min_length=1, max_length=200)], pool: Pool, temporal: Temporal):
    try:
        link = await _live_link(pool, jeton)
    except _LinkRefused as refused:
        return refused.page()
    handle = temporal.get_workflow_handle_for(ActivationWorkflow.run, link["process_id"])
    try:
        await handle.signal(ActivationWorkflow.link_clicked, LinkClicked(link_id=link["id"]))
        result: ActivationResult = await asyncio.wait_for(handle.result(), CLICK_RESULT_TIMEOUT_S)
    except asyncio.TimeoutError:
        return pages.page(
            "Activation en cours",
            "Votre confirmation est bien reçue ; l'activation se termine. Connectez-vous dans quelques instants.",
            status_code=202,
        )
    except (RPCError, WorkflowFailureError):
        return _LinkRefused(ErrorCode.LINK_EXPIRED, 410).page()
    if result.step != ActivationStep.ACTIVE:
        return _LinkRefused(ErrorCode.LINK_EXPIRED, 410).page()
    return pages.page(
        "Compte activé",
        f"Votre compte EduConnect est activé. Connectez-vous avec votre identifiant {result.identifier} "
        "et le mot de passe que vous avez choisi.",
    )
