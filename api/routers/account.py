"""« Gérer mon compte » (DESIGN §3.8, §3.9; FAQ 7–11): the account resource,
the email change (workflow `email-change/<account-id>`) and the password change
(workflow `password-change/<uuid>`).

`/account/email` is where sign-in sends an account whose address is not
validated (FAQ 7): validating the current address as it is, or a corrected one,
is the same process as a change. Changes need a recent sign-in (≤ 15 min)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Form, Query, Request
from pydantic import BaseModel, Field
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from api import pages
from api.deps import Pool, PortalSession, RecentPortalSession, Temporal, request_client_ip
from api.email_links import ClickPage, LinkRefused, LinkWords, live_link
from api.errors import PAGE_REFUSAL_RESPONSES, ErrorBody, update_failure_code
from api.process_calls import ProcessCalls, within_timeout
from api.web import paths
from educonnect import accounts, pending_passwords
from educonnect.account_management import check_new_password, password_context
from educonnect.email_addresses import email_key, normalized_email
from educonnect.emails.account import FIRST_VALIDATION_SUBJECT
from educonnect.errors import DomainError, ErrorCode
from educonnect.french_dates import paris_date_time
from educonnect.models.activation import LinkClick
from educonnect.models.email_change import (
    CancelEmailChange,
    EmailChangeInput,
    EmailChangeRequest,
    EmailChangeResult,
    EmailChangeStatus,
    EmailChangeStep,
    ResendValidation,
    ValidationLinkClicked,
)
from educonnect.models.recovery import PasswordChangeInput, PasswordChangeStep, WaitApplied
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP
from educonnect.service_history import services_used
from educonnect.sessions import Session
from educonnect.settings import get_settings
from educonnect.sign_in_limits import check_credentials_limited
from workflows import email_change, password_change
from workflows.email_change import EmailChangeWorkflow
from workflows.password_change import PasswordChangeWorkflow

router = APIRouter(prefix="/account", tags=["Gérer mon compte"])

EMAIL_CHANGE_PURPOSE = "email_change"


# --- views ---------------------------------------------------------------------------


class Action(BaseModel):
    action: str
    label: str
    method: str
    href: str


class EmailChangeView(BaseModel):
    """A pending change (FAQ 8): where the link went, until when, and when a
    new email can be asked for."""

    email: str
    first_validation: bool
    last_link_sent_at: datetime | None = None
    expires_at: datetime | None = None
    resend_available_at: datetime | None = None
    links_left: int
    message: str


class EmailView(BaseModel):
    email: str | None
    email_verified: bool
    email_validation_required: bool
    pending_email_change: EmailChangeView | None = None
    message: str
    actions: list[Action]


class ServiceUseView(BaseModel):
    """A school service signed into with this account, and what it received (DESIGN §10)."""

    client_id: str
    name: str
    last_signed_in_at: datetime
    data: list[str]


class AccountView(EmailView):
    identifier: str
    kind: str
    first_name: str
    last_name: str
    mobile: str | None
    mobile_verified: bool
    services: list[ServiceUseView] = []


class EmailChangeBody(BaseModel):
    email: str = Field(min_length=1, max_length=254, description="Nouvelle adresse électronique")
    email_confirmation: str = Field(
        min_length=1, max_length=254, description="La même adresse, une seconde fois"
    )


class PasswordChangeBody(BaseModel):
    current_password: str = Field(
        min_length=1, max_length=128, description="Le mot de passe de votre connexion"
    )
    new_password: str = Field(max_length=128, description="Nouveau mot de passe")
    new_password_confirmation: str = Field(max_length=128)


class PasswordChanged(BaseModel):
    message: str
    sessions_ended: int


def _change_view(status: EmailChangeStatus) -> EmailChangeView:
    assert status.email is not None
    where = "Cherchez un courriel de l'expéditeur « Administrateur des services en ligne »"
    if status.first_validation:
        where += f" dont l'objet est « {FIRST_VALIDATION_SUBJECT} »"
    until = f" (valable jusqu'au {paris_date_time(status.expires_at)})" if status.expires_at else ""
    message = (
        f"Une demande de modification de votre adresse électronique est en cours : pour valider l'adresse "
        f"{status.email}, cliquez sur le lien du courriel qui lui a été envoyé{until}. "
        f"Vous ne le trouvez pas ? {where}, y compris dans les courriers indésirables, "
        "cliquez sur « Renvoyez un email de validation » ou saisissez à nouveau votre adresse."
    )
    return EmailChangeView(
        email=status.email,
        first_validation=status.first_validation,
        last_link_sent_at=status.last_link_sent_at,
        expires_at=status.expires_at,
        resend_available_at=status.resend_available_at,
        links_left=status.links_left,
        message=message,
    )


def _actions(pending: EmailChangeStatus | None) -> list[Action]:
    if pending is None:
        return [
            Action(
                action="change_email",
                label="Modifier mon adresse mail",
                method="POST",
                href="/account/email",
            ),
            Action(
                action="change_password",
                label="Modifier mon mot de passe",
                method="POST",
                href="/account/password",
            ),
        ]
    actions = []
    if pending.links_left > 0:
        actions.append(
            Action(
                action="resend",
                label="Renvoyez un email de validation",
                method="POST",
                href="/account/email/resend",
            )
        )
        actions.append(
            Action(
                action="change_email",
                label="Saisir une autre adresse",
                method="POST",
                href="/account/email",
            )
        )
    actions.append(
        Action(
            action="cancel", label="Annuler la demande", method="POST", href="/account/email/cancel"
        )
    )
    actions.append(
        Action(
            action="change_password",
            label="Modifier mon mot de passe",
            method="POST",
            href="/account/password",
        )
    )
    return actions


def _email_message(email: str | None, verified: bool, pending: EmailChangeStatus | None) -> str:
    if pending is not None:
        return _change_view(pending).message
    if verified:
        return f"Votre adresse électronique validée est {email}. Pour la modifier, saisissez la nouvelle adresse deux fois."
    if email:
        return (
            f"Votre adresse électronique {email} n'a pas encore été validée. Vérifiez-la : si elle est juste, "
            "saisissez-la deux fois et un courriel de confirmation vous sera envoyé à cette adresse ; sinon, "
            "saisissez la bonne adresse deux fois, un courriel sera envoyé à la nouvelle adresse pour confirmation."
        )
    return (
        "Aucune adresse électronique n'est associée à votre compte. Saisissez votre adresse deux fois : "
        "un courriel de confirmation vous sera envoyé."
    )


async def _account_row(pool: asyncpg.Pool, account_id: uuid.UUID) -> asyncpg.Record:
    row = await accounts.holder(pool, account_id)
    if row is None or row["state"] != "active":
        raise DomainError(ErrorCode.SESSION_REQUIRED)
    return row


def _email_view(row: asyncpg.Record, pending: EmailChangeStatus | None) -> EmailView:
    needs_validation = not row["email_verified"] and not (
        row["kind"] == "pupil" and not row["email"]
    )
    return EmailView(
        email=row["email"],
        email_verified=row["email_verified"],
        email_validation_required=needs_validation and pending is None,
        pending_email_change=_change_view(pending) if pending is not None else None,
        message=_email_message(row["email"], row["email_verified"], pending),
        actions=_actions(pending),
    )


# --- the email-change workflow ----------------------------------------------------------


# Updates of the account's change; none running (or it just ended): email_change_not_found.
EMAIL_CHANGE = ProcessCalls(
    EmailChangeWorkflow,
    email_change.workflow_id,
    not_found=ErrorCode.EMAIL_CHANGE_NOT_FOUND,
    ended=ErrorCode.EMAIL_CHANGE_NOT_FOUND,
)


async def pending_email_change(temporal: Client, account_id: uuid.UUID) -> EmailChangeStatus | None:
    """The running change of the account, if a link is waiting to be clicked."""
    handle = EMAIL_CHANGE.handle(temporal, account_id)
    try:
        description = await handle.describe()
        if description.status != WorkflowExecutionStatus.RUNNING:
            return None
        status = await handle.query(EmailChangeWorkflow.status)
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            return None
        raise
    return status if status.step == EmailChangeStep.AWAITING_VALIDATION else None


async def _request_change(
    temporal: Client, account_id: uuid.UUID, identifier: str, email: str
) -> EmailChangeStatus:
    """Start the account's change with this address, or give the running one
    this address (update-with-start: one pending change per account)."""
    for attempt in range(4):
        start = WithStartWorkflowOperation(
            EmailChangeWorkflow.run,
            EmailChangeInput(account_id=account_id, identifier=identifier),
            id=email_change.workflow_id(account_id),
            task_queue=get_settings().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(PROCESS_STEP, EmailChangeStep.AWAITING_REQUEST.value),
                    SearchAttributePair(ACCOUNT_ID, str(account_id)),
                ]
            ),
            static_summary=email_change.summary(identifier),
        )
        try:
            return await within_timeout(
                temporal.execute_update_with_start_workflow(
                    EmailChangeWorkflow.request_change,
                    EmailChangeRequest(email=email),
                    start_workflow_operation=start,
                )
            )
        except WorkflowUpdateFailedError as err:
            # The previous change is just ending (clicked, expired, cancelled):
            # once it has closed, the same call starts a new one.
            if update_failure_code(err) != ErrorCode.EMAIL_CHANGE_ENDED or attempt == 3:
                raise
        await asyncio.sleep(0.2 * (attempt + 1))
    raise DomainError(ErrorCode.SERVICE_UNAVAILABLE)


# --- routes: the account ------------------------------------------------------------------


@router.get(
    "",
    summary="Mon compte : adresse électronique, demande en cours, actions",
    response_model=AccountView,
)
async def account(session: PortalSession, pool: Pool, temporal: Temporal) -> AccountView:
    return await account_view(pool, temporal, session)


async def account_view(pool: asyncpg.Pool, temporal: Client, session: Session) -> AccountView:
    """The account as "Mon compte" shows it (the JSON route and the page)."""
    row = await _account_row(pool, session.account_id)
    pending = await pending_email_change(temporal, session.account_id)
    return AccountView(
        **_email_view(row, pending).model_dump(),
        identifier=row["identifier"],
        kind=row["kind"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        mobile=row["mobile"],
        mobile_verified=row["mobile_verified"],
        services=[
            ServiceUseView(
                client_id=u.client_id, name=u.name, last_signed_in_at=u.last_at, data=u.data
            )
            for u in await services_used(pool, session.account_id)
        ],
    )


@router.get(
    "/email",
    summary="Mon adresse électronique : la vérifier, la modifier, ou suivre la demande en cours (FAQ 7, 8, 11)",
    response_model=EmailView,
    responses={401: {"model": ErrorBody}},
)
async def email_page(session: PortalSession, pool: Pool, temporal: Temporal) -> EmailView:
    row = await _account_row(pool, session.account_id)
    return _email_view(row, await pending_email_change(temporal, session.account_id))


@router.post(
    "/email",
    summary="Modifier mon adresse mail : la nouvelle adresse, deux fois (un lien de validation lui est envoyé)",
    response_model=EmailView,
    responses={
        401: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
        429: {"model": ErrorBody},
    },
)
async def change_email(
    body: EmailChangeBody, session: RecentPortalSession, pool: Pool, temporal: Temporal
) -> EmailView:
    return await request_email_change(pool, temporal, session, body)


async def request_email_change(
    pool: asyncpg.Pool, temporal: Client, session: Session, body: EmailChangeBody
) -> EmailView:
    """Ask for the change (the caller checked the sign-in is recent): the old
    address is told, the new one gets the validation link."""
    email = normalized_email(body.email)
    confirmation = normalized_email(body.email_confirmation, field="email_confirmation")
    if email_key(email) != email_key(confirmation):
        raise DomainError(ErrorCode.EMAIL_MISMATCH, [{"field": "email_confirmation"}])
    row = await _account_row(pool, session.account_id)
    if row["email_verified"] and row["email"] and email_key(row["email"]) == email_key(email):
        raise DomainError(ErrorCode.EMAIL_UNCHANGED, [{"field": "email"}])
    status = await _request_change(temporal, session.account_id, row["identifier"], email)
    view = _email_view(row, status)
    told_old = row["email_verified"] and row["email"]
    view.message = (
        f"Votre demande est enregistrée. Deux courriels ont été envoyés : l'un à votre ancienne adresse "
        f"{row['email']} pour l'informer de la modification, l'autre à {email} : validez cette adresse en "
        "cliquant sur le lien qu'il contient."
        if told_old
        else f"Un courriel de confirmation a été envoyé à {email} : validez cette adresse en cliquant sur le lien "
        "qu'il contient."
    )
    return view


@router.post(
    "/email/resend",
    summary="Renvoyez un email de validation (l'ancien lien ne fonctionne plus)",
    response_model=EmailView,
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def resend_validation(session: PortalSession, pool: Pool, temporal: Temporal) -> EmailView:
    return await resend_email_validation(pool, temporal, session)


async def resend_email_validation(
    pool: asyncpg.Pool, temporal: Client, session: Session
) -> EmailView:
    row = await _account_row(pool, session.account_id)
    resend = ResendValidation()
    status = await EMAIL_CHANGE.update(
        temporal, session.account_id, EmailChangeWorkflow.resend_link, resend
    )
    view = _email_view(row, status)
    view.message = (
        f"Un nouvel email de validation a été envoyé à {status.email}. Les liens envoyés précédemment "
        "ne fonctionnent plus."
    )
    return view


@router.post(
    "/email/cancel",
    summary="Annuler la demande de modification d'adresse en cours",
    response_model=EmailView,
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
async def cancel_change(session: PortalSession, pool: Pool, temporal: Temporal) -> EmailView:
    return await cancel_email_change(pool, temporal, session)


async def cancel_email_change(pool: asyncpg.Pool, temporal: Client, session: Session) -> EmailView:
    await EMAIL_CHANGE.update(
        temporal, session.account_id, EmailChangeWorkflow.cancel, CancelEmailChange()
    )
    row = await _account_row(pool, session.account_id)
    view = _email_view(row, None)
    view.message = "La demande de modification d'adresse est annulée : l'adresse de votre compte n'a pas changé."
    return view


# --- the validation link ------------------------------------------------------------------


VALIDATION_LINK_WORDS = LinkWords(
    texts={
        ErrorCode.LINK_ALREADY_USED: "Ce lien a déjà été utilisé : l'adresse électronique est validée.",
        ErrorCode.LINK_EXPIRED: (
            "Ce lien n'est plus valable (la demande a expiré ou a été annulée) : l'adresse de votre compte n'a pas "
            "été modifiée. Connectez-vous pour refaire la demande dans « Mon compte »."
        ),
    }
)

Token = Annotated[str, Query(alias="jeton", min_length=1, max_length=200)]


@router.get(
    "/email/validation",
    summary="Page ouverte depuis le lien de validation de l'adresse",
    response_class=pages.HTMLResponse,
    responses=PAGE_REFUSAL_RESPONSES,
)
async def validation_page(jeton: Token, pool: Pool):
    # Opening the page changes nothing (mail scanners open links too): the button does.
    try:
        link = await live_link(pool, jeton, EMAIL_CHANGE_PURPOSE, VALIDATION_LINK_WORDS)
    except LinkRefused as refused:
        return refused.page()
    return pages.page(
        "Valider votre adresse électronique",
        f"Cliquez sur le bouton pour valider l'adresse {link['email']} pour votre compte EduConnect.",
        extra_html=pages.form_button(
            "/account/email/validation", {"jeton": jeton}, "Valider cette adresse"
        ),
    )


@router.post(
    "/email/validation",
    summary="Valider l'adresse électronique",
    response_class=pages.HTMLResponse,
    responses=PAGE_REFUSAL_RESPONSES,
)
async def validate(
    jeton: Annotated[str, Form(min_length=1, max_length=200)], pool: Pool, temporal: Temporal
):
    try:
        link = await live_link(pool, jeton, EMAIL_CHANGE_PURPOSE, VALIDATION_LINK_WORDS)
    except LinkRefused as refused:
        return refused.page()

    def validated(result: EmailChangeResult):
        if result.step != EmailChangeStep.VALIDATED:
            return VALIDATION_LINK_WORDS.refusal(ErrorCode.LINK_EXPIRED, 410).page()
        return pages.page(
            "Adresse validée",
            f"L'adresse {link['email']} est validée : c'est désormais l'adresse électronique de votre compte EduConnect.",
            extra_html=f'<p><a class="fr-btn" href="{paths.MY_ACCOUNT}">Aller à mon compte</a></p>',
        )

    page = ClickPage(
        pool,
        jeton,
        EMAIL_CHANGE_PURPOSE,
        VALIDATION_LINK_WORDS,
        pending_title="Validation en cours",
        pending_text="Votre validation est bien reçue ; la modification de votre adresse se termine. "
        "Elle apparaîtra dans « Mon compte » dans quelques instants.",
    )
    return await page.confirm(
        temporal.get_workflow_handle_for(EmailChangeWorkflow.run, link["process_id"]),
        EmailChangeWorkflow.confirm_link,
        LinkClick(link_id=link["id"]),
        status=EmailChangeWorkflow.status,
        counted=lambda status: status.link_clicked,
        done=validated,
        signal=(EmailChangeWorkflow.link_clicked, ValidationLinkClicked(link_id=link["id"])),
    )


# --- routes: the password -------------------------------------------------------------------


@router.post(
    "/password",
    summary="Modifier mon mot de passe : actuel, nouveau, confirmation (les autres sessions se terminent)",
    response_model=PasswordChanged,
    responses={401: {"model": ErrorBody}, 422: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def change_password(
    body: PasswordChangeBody,
    request: Request,
    session: RecentPortalSession,
    pool: Pool,
    temporal: Temporal,
) -> PasswordChanged:
    return await change_account_password(pool, temporal, session, body, request_client_ip(request))


async def change_account_password(
    pool: asyncpg.Pool,
    temporal: Client,
    session: Session,
    body: PasswordChangeBody,
    client_ip: str,
) -> PasswordChanged:
    """Change the password (the caller checked the sign-in is recent): the
    current one checked under the sign-in limits, the policy, then the
    workflow; the other sessions end, a notice is sent."""
    row = await _account_row(pool, session.account_id)
    try:  # behind the sign-in limits: a stolen session cannot guess at will
        await check_credentials_limited(pool, row["identifier"], body.current_password, client_ip)
    except DomainError as refused:
        if refused.code == ErrorCode.INVALID_CREDENTIALS:
            raise DomainError(
                ErrorCode.CURRENT_PASSWORD_INCORRECT, [{"field": "current_password"}]
            ) from None
        raise
    check_new_password(
        body.new_password,
        body.new_password_confirmation,
        await password_context(pool, session.account_id),
        field="new_password",
    )
    if body.new_password == body.current_password:
        raise DomainError(ErrorCode.PASSWORD_UNCHANGED, [{"field": "new_password"}])

    # The password never enters Temporal: its hash waits here for the workflow.
    process_id = password_change.workflow_id(uuid.uuid4())
    await pending_passwords.keep(pool, session.account_id, process_id, body.new_password)
    start = WithStartWorkflowOperation(
        PasswordChangeWorkflow.run,
        PasswordChangeInput(
            account_id=session.account_id, identifier=row["identifier"], keep_session_id=session.id
        ),
        id=process_id,
        task_queue=get_settings().task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(PROCESS_STEP, PasswordChangeStep.APPLYING.value),
                SearchAttributePair(ACCOUNT_ID, str(session.account_id)),
            ]
        ),
        static_summary=password_change.summary(row["identifier"]),
    )
    applied = await within_timeout(
        temporal.execute_update_with_start_workflow(
            PasswordChangeWorkflow.applied, WaitApplied(), start_workflow_operation=start
        )
    )
    ended = applied.sessions_ended
    others = f" Vos autres connexions ouvertes ({ended}) ont été fermées." if ended else ""
    return PasswordChanged(
        message=(
            "Votre mot de passe est modifié : il vous sera demandé à votre prochaine connexion."
            + others
            + " Un message de confirmation vous a été envoyé."
        ),
        sessions_ended=ended,
    )
