"""What the routes of the guardian's and the pupil's activation share
(`api.routers.activation`, `api.routers.pupil_activation`; DESIGN §3.1, §3.4):
calling the process (`api.process_calls`: status query, updates with a
timeout, Temporal errors mapped to stable codes), the view of its status, the
checks of the "Gérer mon compte" form, and the routes of the confirmation-link
step (`/resend-link`, `/email`), the API face of `workflows.steps.confirmation_link_step`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Generic, TypeVar
from uuid import UUID

import asyncpg
from fastapi import APIRouter
from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import UpdateMethodMultiParam

from api.correction_form import RequestSummary, latest_request
from api.deps import ActivationSession, Temporal
from api.errors import ErrorBody
from api.process_calls import ProcessCalls, wrong_answer
from educonnect import accounts, pending_passwords
from educonnect.email_addresses import normalized_email
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.activation import ActivationStep, EmailCorrection, LinkSent, ResendRequest
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP
from educonnect.settings import get_settings

ASSISTANCE_URL = "/assistance/date-de-naissance"  # the correction process plugs in here


class EmailRequest(BaseModel):
    email: str = Field(max_length=254)


class LinkSentView(BaseModel):
    email: str
    sent_at: datetime
    message: str


View = TypeVar("View", bound=BaseModel)


@dataclass(frozen=True)
class ActivationProcess(Generic[View]):
    """One activation workflow as its routes use it."""

    # The workflow class (run, status, status_at_start, submit_profile, resend_link, correct_email).
    workflow: type[Any]
    workflow_id: Callable[[UUID], str]
    view: type[View]  # the status query's answer plus `api.correction_form.CorrectionInfo`
    assistance_url: str = (
        ASSISTANCE_URL  # where a person blocked on a birthdate asks for its correction
    )

    async def start_or_resume(self, temporal: Client, params: Any, *, summary: str) -> View:
        """Start the process of `params.account_id`, or join the running one."""
        try:
            await temporal.start_workflow(
                self.workflow.run,
                params,
                id=self.workflow_id(params.account_id),
                task_queue=get_settings().task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=self.initial_search_attributes(params.account_id),
                static_summary=summary,
            )
        except WorkflowAlreadyStartedError:  # running already (signed in before): where it stands
            return self.view_of(await self.calls.status(temporal, params.account_id))
        # Just started: the process stands at its first step, as its own code
        # says; no query to wait for its first workflow task (issue 14).
        return self.view_of(self.workflow.status_at_start(params))

    def initial_search_attributes(self, account_id: UUID) -> TypedSearchAttributes:
        """What operators search a process by from its start (the workflow keeps them up to date)."""
        return TypedSearchAttributes(
            [
                SearchAttributePair(PROCESS_STEP, ActivationStep.PROFILE.value),
                SearchAttributePair(ACCOUNT_ID, str(account_id)),
            ]
        )

    def view_of(self, status: Any, correction: RequestSummary | None = None) -> View:
        blocked = status.step == ActivationStep.BIRTHDATE_BLOCKED
        return self.view(
            **status.model_dump(),
            assistance_url=self.assistance_url if blocked else None,
            correction=correction,
        )

    async def status_view(
        self, pool: asyncpg.Pool, temporal: Client, session: ActivationSession
    ) -> View:
        """The status, and once blocked on a birthdate the latest correction request filed."""
        status = await self.status(temporal, session)
        blocked = status.step == ActivationStep.BIRTHDATE_BLOCKED
        return self.view_of(
            status,
            await latest_request(pool, self.workflow_id(session.account_id), blocked=blocked),
        )

    @cached_property
    def calls(self) -> ProcessCalls[UUID]:
        """The process of an account: none running, process_not_found; ended under an update, process_ended."""
        return ProcessCalls(
            self.workflow,
            self.workflow_id,
            not_found=ErrorCode.PROCESS_NOT_FOUND,
            ended=ErrorCode.PROCESS_ENDED,
            refusal=self.refusal,
        )

    async def status(self, temporal: Client, session: ActivationSession) -> Any:
        return await self.calls.status(temporal, session.account_id)

    async def update(
        self,
        temporal: Client,
        session: ActivationSession,
        update: UpdateMethodMultiParam[[Any, Any], Any],
        arg: BaseModel,
    ) -> Any:
        """Run an update and wait for its answer (`api.process_calls.UPDATE_TIMEOUT_S` at most)."""
        return await self.calls.update(temporal, session.account_id, update, arg)

    # --- "Gérer mon compte" -----------------------------------------------------

    async def require_profile_step(
        self, pool: asyncpg.Pool, temporal: Client, session: ActivationSession
    ) -> None:
        """Before a new password is hashed and parked: the activation not begun
        yet, as PostgreSQL says (the account still 'provisioned': no query to
        Temporal, issue 14; blocked on a birthdate, the update's validator
        refuses, `refusal`). Begun or ended: the refusal of the process's step."""
        if await accounts.still_provisioned(pool, session.account_id):
            return
        step = (await self.status(temporal, session)).step
        if step == ActivationStep.BIRTHDATE_BLOCKED:
            raise self.refusal(ErrorCode.BIRTHDATE_BLOCKED, session.account_id)
        if step != ActivationStep.PROFILE:
            raise DomainError(ErrorCode.WRONG_STEP)

    def refusal(self, code: ErrorCode, account_id: UUID) -> DomainError:
        """A refusal of the process: blocked on a birthdate, with where to ask for its correction."""
        if code == ErrorCode.BIRTHDATE_BLOCKED:
            return DomainError(code, [{"assistance_url": self.assistance_url}])
        return DomainError(code)

    async def keep_pending_password(
        self, pool: asyncpg.Pool, session: ActivationSession, password: str
    ) -> None:
        """The new password never enters Temporal: its hash waits in PostgreSQL
        until the process makes it effective."""
        await pending_passwords.keep(
            pool, session.account_id, self.workflow_id(session.account_id), password
        )

    def raise_birthdate_refusal(self, outcome: Any, *, field: str) -> None:
        """The process refused the profile: a wrong birthdate (`field`), or blocked."""
        if outcome.error == ErrorCode.BIRTHDATE_BLOCKED:
            raise DomainError(
                outcome.error, [{"attempts_left": 0, "assistance_url": self.assistance_url}]
            )
        if outcome.error is not None:
            raise wrong_answer(outcome.error, field, outcome.attempts_left)


# --- "Activer votre compte": the confirmation-link routes ----------------------------


def _link_sent(sent: LinkSent) -> LinkSentView:
    return LinkSentView(
        email=sent.email,
        sent_at=sent.sent_at,
        message=f"Un nouveau lien a été envoyé à {sent.email}.",
    )


def add_confirmation_link_routes(router: APIRouter, process: ActivationProcess) -> None:
    """`POST <prefix>/resend-link` and `POST <prefix>/email` for `process`."""

    @router.post(
        "/resend-link",
        summary="Renvoyer un email de confirmation (l'ancien lien ne fonctionne plus)",
        response_model=LinkSentView,
        responses={409: {"model": ErrorBody}, 429: {"model": ErrorBody}},
    )
    async def resend_link(session: ActivationSession, temporal: Temporal) -> LinkSentView:
        return _link_sent(
            await process.update(temporal, session, process.workflow.resend_link, ResendRequest())
        )

    @router.post(
        "/email",
        summary="Corriger l'adresse électronique (un nouveau lien part vers la nouvelle adresse)",
        response_model=LinkSentView,
        responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
    )
    async def correct_email(
        body: EmailRequest, session: ActivationSession, temporal: Temporal
    ) -> LinkSentView:
        correction = EmailCorrection(email=normalized_email(body.email, field=None))
        return _link_sent(
            await process.update(temporal, session, process.workflow.correct_email, correction)
        )
