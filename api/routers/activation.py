"""Activation with school-issued credentials (DESIGN §3.1, FAQ 2.2, 7).

Sign-in with the provisional credentials (`POST /sign-in`) starts or resumes
the workflow `activation/<account-id>`; these routes are its steps."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Form, Query
from pydantic import BaseModel, Field
from temporalio.client import Client

from api import pages
from api.activation_routes import (
    ASSISTANCE_URL,  # noqa: F401 (the assistance router reads it here)
    ActivationProcess,
    add_confirmation_link_routes,
)
from api.correction_form import CorrectionInfo
from api.deps import ActivationSession, Pool, Temporal
from api.email_links import ClickPage, LinkRefused, LinkWords, live_link
from api.errors import PAGE_REFUSAL_RESPONSES, ErrorBody
from educonnect.account_management import check_new_password, password_context
from educonnect.credentials import CheckedAccount
from educonnect.email_addresses import normalized_email
from educonnect.errors import ErrorCode
from educonnect.models.activation import (
    ActivationInput,
    ActivationResult,
    ActivationStatus,
    ActivationStep,
    LinkClick,
    LinkClicked,
    ProfileSubmission,
)
from educonnect.sessions import Session
from workflows.activation import ActivationWorkflow, workflow_id

router = APIRouter(prefix="/activation", tags=["Activation du compte"])


class ActivationView(ActivationStatus, CorrectionInfo):
    """The activation's status, and the birthdate correction once blocked."""


class ProfileRequest(BaseModel):
    password: str = Field(max_length=128, description="Nouveau mot de passe")
    password_confirmation: str = Field(max_length=128)
    email: str = Field(max_length=254, description="Adresse électronique, confirmée par un lien")
    child_birthdate: date = Field(description="Date de naissance d'un de vos enfants (AAAA-MM-JJ)")


PROCESS = ActivationProcess(ActivationWorkflow, workflow_id, ActivationView)


async def start_or_resume_activation(
    temporal: Client, pool: asyncpg.Pool, account: CheckedAccount
) -> ActivationView:
    params = ActivationInput(
        account_id=account.account_id,
        identifier=account.identifier,
        credentials_expire_at=account.provisional_expires_at,
    )
    return await PROCESS.start_or_resume(
        temporal, params, summary=f"Activation du compte {account.identifier}"
    )


@router.get("", summary="Où en est mon activation ?", response_model=ActivationView)
async def activation_status(
    session: ActivationSession, pool: Pool, temporal: Temporal
) -> ActivationView:
    return await PROCESS.status_view(pool, temporal, session)


@router.post(
    "/profile",
    summary="Gérer mon compte : mot de passe, adresse électronique, date de naissance d'un enfant",
    response_model=ActivationView,
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}, 423: {"model": ErrorBody}},
)
async def submit_profile(
    body: ProfileRequest, session: ActivationSession, pool: Pool, temporal: Temporal
):
    return await submit_activation_profile(pool, temporal, session, body)


async def submit_activation_profile(
    pool: asyncpg.Pool, temporal: Client, session: Session, body: ProfileRequest
) -> ActivationView:
    """ "Gérer mon compte", as the JSON route and the page do it: the step
    checked, the password checked and parked (hashed) in PostgreSQL, the
    address and the birthdate sent to the process; its answer, or its refusal
    (a wrong birthdate with the tries left, blocked)."""
    await PROCESS.require_profile_step(pool, temporal, session)
    check_new_password(
        body.password, body.password_confirmation, await password_context(pool, session.account_id)
    )
    email = normalized_email(body.email, field=None)
    await PROCESS.keep_pending_password(pool, session, body.password)  # waits there for the click
    profile = ProfileSubmission(email=email, child_birthdate=body.child_birthdate)
    outcome = await PROCESS.update(temporal, session, ActivationWorkflow.submit_profile, profile)
    PROCESS.raise_birthdate_refusal(outcome, field="child_birthdate")
    # The process answers with its status (a run started before: queried).
    return PROCESS.view_of(outcome.status or await PROCESS.status(temporal, session))


# POST /activation/resend-link, POST /activation/email
add_confirmation_link_routes(router, PROCESS)


# --- the link in the email ------------------------------------------------------

LINK_PURPOSE = "activation"
LINK_WORDS = LinkWords(already_used_title="Compte déjà activé")

Token = Annotated[str, Query(alias="jeton", min_length=1, max_length=200)]


@router.get(
    "/confirmation",
    summary="Page ouverte depuis le lien de confirmation",
    response_class=pages.HTMLResponse,
    responses=PAGE_REFUSAL_RESPONSES,
)
async def confirmation_page(jeton: Token, pool: Pool):
    # Opening the page changes nothing (mail scanners open links too): the button does.
    try:
        await live_link(pool, jeton, LINK_PURPOSE, LINK_WORDS)
    except LinkRefused as refused:
        return refused.page()
    return pages.page(
        "Activer votre compte",
        "Cliquez sur le bouton pour confirmer votre adresse électronique et activer votre compte EduConnect.",
        extra_html=pages.form_button(
            "/activation/confirmation", {"jeton": jeton}, "Activer mon compte"
        ),
    )


@router.post(
    "/confirmation",
    summary="Confirmer l'adresse et activer le compte",
    response_class=pages.HTMLResponse,
    responses=PAGE_REFUSAL_RESPONSES,
)
async def confirm(
    jeton: Annotated[str, Form(min_length=1, max_length=200)], pool: Pool, temporal: Temporal
):
    try:
        link = await live_link(pool, jeton, LINK_PURPOSE, LINK_WORDS)
    except LinkRefused as refused:
        return refused.page()
    # The guardian's or the pupil's activation: the same update on both.
    handle = temporal.get_workflow_handle_for(ActivationWorkflow.run, link["process_id"])
    page = ClickPage(
        pool,
        jeton,
        LINK_PURPOSE,
        LINK_WORDS,
        pending_title="Activation en cours",
        pending_text="Votre confirmation est bien reçue ; l'activation se termine. "
        "Connectez-vous dans quelques instants.",
    )
    return await page.confirm(
        handle,
        ActivationWorkflow.confirm_link,
        LinkClick(link_id=link["id"]),
        status=ActivationWorkflow.status,
        counted=lambda status: status.link_clicked,
        done=_activated_page,
        signal=(ActivationWorkflow.link_clicked, LinkClicked(link_id=link["id"])),
    )


def _activated_page(result: ActivationResult):
    if result.step != ActivationStep.ACTIVE:
        return LINK_WORDS.refusal(ErrorCode.LINK_EXPIRED, 410).page()
    return pages.page("Compte activé", activated_text(result.identifier))


def activated_text(identifier: str) -> str:
    """What the guardian reads once the account is active (link page, activation page)."""
    return (
        f"Votre compte EduConnect est activé. Connectez-vous avec votre identifiant {identifier} "
        "et le mot de passe que vous avez choisi."
    )
