"""S'identifier avec FranceConnect (DESIGN §3.3, FAQ 2.3).

`GET /franceconnect/login` sends the browser to the provider; the provider
sends it back to `GET /franceconnect/callback`, where the answer is checked
(`educonnect.franceconnect`). A FranceConnect identity already linked to an
account signs in directly. Otherwise the first visit starts (workflow
`franceconnect-link/<uuid>`, bound to this browser by a cookie) and these
routes are its steps: mobile, SMS code, a child's birthdate. While waiting
for the code, "Modifier le numéro" (`/link/{id}/change-mobile`) sends a new
code to another number (3 numbers per first visit, a daily limit per
FranceConnect identity). Blocked after three wrong birthdates, the person
files a correction request at `/franceconnect/link/{id}/correction` (same
browser, SMS code verified). Coming back through FranceConnect resumes a first
visit past its SMS code (waiting for a birthdate or a correction); one still
at the mobile or the code ends and a fresh one starts, so that no one stays
held in a step they cannot finish.

Sign-out of a session opened here (`POST /sign-out`) goes on to the
provider's end-session endpoint; the provider sends the browser back to
`GET /franceconnect/logout/callback` (the state checked): « Vous êtes
déconnecté ».
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlencode

import asyncpg
from fastapi import APIRouter, Cookie, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from api.correction_form import CorrectionInfo, RequestSummary, latest_request, verified_guardian
from api.correction_routes import Blocked, add_correction_routes
from api.deps import Pool, Temporal, start_portal_session
from api.errors import PAGE_REFUSAL_RESPONSES, ErrorBody
from api.pages import page
from api.process_calls import ProcessCalls, resend_sms_code, submit_sms_code, wrong_answer
from api.web import paths
from educonnect import policies
from educonnect.errors import MESSAGES, DomainError, ErrorCode
from educonnect.franceconnect import (
    LOGIN_PATH,
    LogoutStart,
    complete_logout,
    relying_party,
    remember_franceconnect_session,
    remember_identity,
)
from educonnect.models.franceconnect import (
    ENDED_STEPS,
    RESUMED_STEPS,
    BirthdateSubmission,
    LinkInput,
    LinkStatus,
    LinkStep,
    MobileSubmission,
    PersonReturned,
)
from educonnect.models.sms_codes import SmsCodeStatus
from educonnect.phones import e164_mobile
from educonnect.search_attributes import PROCESS_STEP
from educonnect.settings import get_settings
from educonnect.tokens import token_hash
from workflows.franceconnect_link import FranceConnectLinkWorkflow, summary, workflow_id

router = APIRouter(prefix="/franceconnect", tags=["FranceConnect"])

LOGIN_COOKIE = "educonnect_fc_login"  # this browser's pending authorization request
LINK_COOKIE = "educonnect_fc_link"  # this browser's first-visit process
LOGOUT_COOKIE = "educonnect_fc_logout"  # this browser's logout at the provider
COOKIE_PATH = "/franceconnect"

STEP_MESSAGES = {
    LinkStep.AWAITING_MOBILE: (
        "Première connexion avec FranceConnect : saisissez le numéro de téléphone mobile indiqué "
        "sur la fiche de renseignements remplie à la rentrée scolaire de vos enfants."
    ),
    LinkStep.AWAITING_CODE: (
        "Si ce numéro correspond à nos informations, un code de validation vous a été envoyé par SMS. "
        "Saisissez-le : il est valable 10 minutes. Le numéro saisi est erroné ? "
        "« Modifier le numéro » envoie un nouveau code au bon numéro."
    ),
    LinkStep.AWAITING_BIRTHDATE: "Confirmez la date de naissance d'un de vos enfants.",
    LinkStep.BIRTHDATE_BLOCKED: MESSAGES[ErrorCode.BIRTHDATE_BLOCKED],
    LinkStep.LINKED: (
        "Votre identité FranceConnect est associée à votre compte EduConnect. Vous pourrez désormais "
        "vous connecter en cliquant sur « S'identifier avec FranceConnect »."
    ),
    LinkStep.CODE_LOCKED: MESSAGES[ErrorCode.SMS_CODE_LOCKED],
    LinkStep.EXPIRED: MESSAGES[ErrorCode.FRANCECONNECT_LINK_EXPIRED],
    LinkStep.REPLACED: MESSAGES[ErrorCode.FRANCECONNECT_LINK_NOT_FOUND],
}


class LinkView(CorrectionInfo):
    link_id: uuid.UUID
    step: LinkStep
    step_label: str
    message: str
    code: SmsCodeStatus | None = None
    birthdate_attempts_left: int
    expires_at: datetime | None = None


class CallbackStatus(StrEnum):
    SIGNED_IN = "signed_in"
    LINK_REQUIRED = "link_required"


class CallbackResponse(BaseModel):
    status: CallbackStatus
    message: str
    identifier: str | None = None  # signed in: the account's identifier
    link: LinkView | None = None  # first visit: where the process stands


class SignedInView(LinkView):
    identifier: str


class MobileRequest(BaseModel):
    mobile: str = Field(
        min_length=1, max_length=32, description="Numéro de mobile, par exemple 06 12 34 56 78"
    )


class CodeRequest(BaseModel):
    code: str = Field(pattern=r"^[0-9]{6}$", description="Code à 6 chiffres reçu par SMS")


class BirthdateRequest(BaseModel):
    child_birthdate: date = Field(description="Date de naissance d'un de vos enfants (AAAA-MM-JJ)")


def _cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        secure=get_settings().secure_cookies,
        samesite="lax",  # sent on the provider's top-level redirect back to us
    )


def correction_url(link_id: uuid.UUID) -> str:
    return f"{router.prefix}/link/{link_id}/correction"


def _view(
    link_id: uuid.UUID, status: LinkStatus, correction: RequestSummary | None = None
) -> LinkView:
    blocked = status.step == LinkStep.BIRTHDATE_BLOCKED
    return LinkView(
        link_id=link_id,
        **status.model_dump(exclude={"guardian_id"}),
        message=STEP_MESSAGES[status.step],
        assistance_url=correction_url(link_id) if blocked else None,
        correction=correction,
    )


async def view_with_correction(
    pool: asyncpg.Pool, link_id: uuid.UUID, status: LinkStatus
) -> LinkView:
    """The view of a status query, with the correction request once blocked."""
    blocked = status.step == LinkStep.BIRTHDATE_BLOCKED
    return _view(link_id, status, await latest_request(pool, workflow_id(link_id), blocked=blocked))


# --- the OpenID Connect dance ---------------------------------------------------


@router.get(
    "/login",
    summary="S'identifier avec FranceConnect (redirection vers FranceConnect)",
    response_class=RedirectResponse,
    status_code=302,
    responses={503: {"model": ErrorBody}},
)
async def login(request: Request, pool: Pool) -> RedirectResponse:
    try:
        start = await relying_party().begin_login(pool)
    except DomainError as err:
        if wants_page(request):  # the FranceConnect button of a page: a French page
            return RedirectResponse(refused_page(err.code), status_code=303)
        raise
    response = RedirectResponse(start.authorization_url, status_code=302)
    _cookie(
        response,
        LOGIN_COOKIE,
        start.browser_token,
        int(policies.FRANCECONNECT_LOGIN_VALIDITY.total_seconds()),
    )
    return response


@router.get(
    "/callback",
    summary="Retour de FranceConnect : connexion directe, ou première connexion",
    response_model=CallbackResponse,
    responses={
        303: {"description": "Navigateur (Accept: text/html) : vers la page de l'étape"},
        400: {"model": ErrorBody},
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
    },
)
async def callback(
    request: Request,
    response: Response,
    pool: Pool,
    temporal: Temporal,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
    iss: Annotated[str | None, Query(max_length=512)] = None,
    educonnect_fc_login: Annotated[str | None, Cookie()] = None,
    educonnect_session: Annotated[str | None, Cookie()] = None,
):
    answer = OidcAnswer(code=code, state=state, error=error, iss=iss)
    if wants_page(request):  # a person's browser, sent back by the provider: pages
        return await callback_for_browser(
            pool, temporal, answer, educonnect_fc_login, educonnect_session
        )
    return await complete_franceconnect_login(
        pool, temporal, response, answer, educonnect_fc_login, educonnect_session
    )


def wants_page(request: Request) -> bool:
    """A browser (it asks for HTML) gets pages; the JSON API's clients, JSON."""
    return "text/html" in request.headers.get("accept", "")


@dataclass(frozen=True)
class OidcAnswer:
    """What the provider sent back in the callback's query."""

    code: str | None = None
    state: str | None = None
    error: str | None = None
    iss: str | None = None


async def complete_franceconnect_login(
    pool: asyncpg.Pool,
    temporal: Client,
    response: Response,
    answer: OidcAnswer,
    login_cookie: str | None,
    session_cookie: str | None,
) -> CallbackResponse:
    """The provider's answer checked; a linked identity signed in (its session
    cookie set on `response`), otherwise the first visit started or resumed
    (its browser cookie set on `response`)."""
    verified = await relying_party().complete_login(
        pool,
        browser_token=login_cookie,
        state=answer.state,
        code=answer.code,
        error=answer.error,
        iss=answer.iss,
    )
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    identity = await remember_identity(pool, verified)

    if identity.account_id is not None:  # a later visit: direct sign-in
        account = await pool.fetchrow(
            "SELECT identifier, state FROM accounts WHERE id = $1", identity.account_id
        )
        if account is None or account["state"] in ("locked", "merged"):
            raise DomainError(ErrorCode.ACCOUNT_UNAVAILABLE)
        token = await start_portal_session(
            response, pool, identity.account_id, replaces=session_cookie
        )
        await remember_franceconnect_session(pool, token, identity.id, verified.id_token)
        return CallbackResponse(
            status=CallbackStatus.SIGNED_IN,
            identifier=account["identifier"],
            message="Vous êtes connecté avec FranceConnect.",
        )

    link_id, browser_token = await _start_or_resume_link(
        pool, temporal, identity.id, verified.id_token
    )
    _cookie(
        response,
        LINK_COOKIE,
        browser_token,
        int(policies.FRANCECONNECT_BLOCKED_MAX_WAIT.total_seconds()),
    )
    status = await LINK.handle(temporal, link_id).query(FranceConnectLinkWorkflow.status)
    view = await view_with_correction(pool, link_id, status)
    return CallbackResponse(status=CallbackStatus.LINK_REQUIRED, message=view.message, link=view)


async def callback_for_browser(
    pool: asyncpg.Pool,
    temporal: Client,
    answer: OidcAnswer,
    login_cookie: str | None,
    session_cookie: str | None,
) -> RedirectResponse:
    """The same, answered with the page to go to: the portal, the first
    visit's step, or the refusal's page (cancelled, FranceConnect down...)."""
    response = RedirectResponse(paths.PORTAL, status_code=303)
    try:
        result = await complete_franceconnect_login(
            pool, temporal, response, answer, login_cookie, session_cookie
        )
    except DomainError as err:
        refused = RedirectResponse(refused_page(err.code), status_code=303)
        refused.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
        return refused
    if result.status == CallbackStatus.LINK_REQUIRED:
        response.headers["location"] = paths.FRANCECONNECT_FIRST_VISIT
    return response


def refused_page(code: ErrorCode) -> str:
    """The page that says why FranceConnect could not sign the person in."""
    return f"{paths.FRANCECONNECT_REFUSED}?{urlencode({'motif': code.value})}"


async def _start_or_resume_link(
    pool: asyncpg.Pool, temporal: Client, identity_id: uuid.UUID, id_token: str
) -> tuple[uuid.UUID, str]:
    """The identity's first visit still running past its SMS code (waiting for
    a birthdate, or for a correction), now bound to this browser; or a new
    one. A first visit still at the mobile or the code is ended (`replaced`)
    and a fresh one starts: a mistyped number, codes that never came, all
    numbers tried... coming back through FranceConnect always gets the
    person going again (the daily limit of numbers per identity still holds).
    The sign-in's ID token waits with the first visit (the logout's hint)."""
    browser_token = secrets.token_urlsafe(32)
    running = await pool.fetchval(
        "SELECT id FROM franceconnect_links WHERE identity_id = $1 AND ended_at IS NULL "
        "ORDER BY created_at DESC LIMIT 1",
        identity_id,
    )
    if running is not None:
        handle = LINK.handle(temporal, running)
        try:
            alive = (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            alive = False
        step = (await handle.query(FranceConnectLinkWorkflow.status)).step if alive else None
        if step in RESUMED_STEPS:
            await pool.execute(
                "UPDATE franceconnect_links SET binding_hash = $2, id_token = $3 WHERE id = $1",
                running,
                token_hash(browser_token),
                id_token,
            )
            await handle.signal(FranceConnectLinkWorkflow.person_returned, PersonReturned())
            return running, browser_token
        if alive:  # ends itself unless it moved past the code meanwhile
            await handle.signal(
                FranceConnectLinkWorkflow.person_returned, PersonReturned(fresh_start=True)
            )
        await pool.execute(
            "UPDATE franceconnect_links SET ended_at = coalesce(ended_at, now()) WHERE id = $1",
            running,
        )

    link_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO franceconnect_links (id, identity_id, binding_hash, id_token) "
        "VALUES ($1, $2, $3, $4)",
        link_id,
        identity_id,
        token_hash(browser_token),
        id_token,
    )
    await temporal.start_workflow(
        FranceConnectLinkWorkflow.run,
        LinkInput(link_id=link_id, identity_id=identity_id),
        id=workflow_id(link_id),
        task_queue=get_settings().task_queue,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(PROCESS_STEP, LinkStep.AWAITING_MOBILE.value)]
        ),
        static_summary=summary(link_id),
    )
    return link_id, browser_token


# --- the first visit ------------------------------------------------------------


def ended_code(status: LinkStatus) -> ErrorCode:
    """The refusal once the first visit has ended, by how it ended."""
    return {
        LinkStep.EXPIRED: ErrorCode.FRANCECONNECT_LINK_EXPIRED,
        LinkStep.CODE_LOCKED: ErrorCode.SMS_CODE_LOCKED,
    }.get(status.step, ErrorCode.FRANCECONNECT_LINK_NOT_FOUND)


LINK = ProcessCalls(
    FranceConnectLinkWorkflow,
    workflow_id,
    not_found=ErrorCode.FRANCECONNECT_LINK_NOT_FOUND,
    ended=ended_code,
)


async def _bound_link(pool: asyncpg.Pool, link_id: uuid.UUID, browser_token: str | None) -> None:
    """Only the browser that came back from FranceConnect drives the process;
    any other gets the same answer as for an unknown id."""
    if not browser_token or not await pool.fetchval(
        "SELECT 1 FROM franceconnect_links WHERE id = $1 AND binding_hash = $2",
        link_id,
        token_hash(browser_token),
    ):
        raise DomainError(ErrorCode.FRANCECONNECT_LINK_NOT_FOUND)


async def link_of_browser(pool: asyncpg.Pool, browser_token: str | None) -> uuid.UUID | None:
    """The first visit this browser drives (its cookie), for the pages, whose
    addresses carry no id."""
    if not browser_token:
        return None
    return await pool.fetchval(
        "SELECT id FROM franceconnect_links WHERE binding_hash = $1", token_hash(browser_token)
    )


LinkCookie = Annotated[str | None, Cookie(alias=LINK_COOKIE)]


@router.get(
    "/link/{link_id}",
    summary="Où en est ma première connexion avec FranceConnect ?",
    response_model=LinkView,
    responses={404: {"model": ErrorBody}},
)
async def link_status(
    link_id: uuid.UUID, pool: Pool, temporal: Temporal, browser: LinkCookie = None
) -> LinkView:
    await _bound_link(pool, link_id, browser)
    return await view_with_correction(pool, link_id, await LINK.status(temporal, link_id))


@router.post(
    "/link/{link_id}/mobile",
    summary="Saisir le numéro de mobile de la fiche de renseignements (un code est envoyé par SMS)",
    response_model=LinkView,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def submit_mobile(
    link_id: uuid.UUID,
    body: MobileRequest,
    pool: Pool,
    temporal: Temporal,
    browser: LinkCookie = None,
) -> LinkView:
    return await enter_mobile(
        FranceConnectLinkWorkflow.submit_mobile, link_id, body, pool, temporal, browser
    )


async def enter_mobile(
    update, link_id: uuid.UUID, body: MobileRequest, pool, temporal, browser: str | None
) -> LinkView:
    """A number typed (the first one, or "Modifier le numéro"): the workflow's
    answer is the same whether or not it is on file."""
    await _bound_link(pool, link_id, browser)
    mobile = e164_mobile(body.mobile)
    await LINK.update(temporal, link_id, update, MobileSubmission(mobile=mobile))
    return _view(link_id, await LINK.status(temporal, link_id))


@router.post(
    "/link/{link_id}/change-mobile",
    summary="Modifier le numéro : un nouveau code est envoyé au numéro corrigé",
    response_model=LinkView,
    responses={
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        410: {"model": ErrorBody},
        422: {"model": ErrorBody},
        429: {"model": ErrorBody},
    },  # fmt: skip
)
async def change_mobile(
    link_id: uuid.UUID,
    body: MobileRequest,
    pool: Pool,
    temporal: Temporal,
    browser: LinkCookie = None,
) -> LinkView:
    """While waiting for the code: the number typed was wrong. The previous code dies."""
    return await enter_mobile(
        FranceConnectLinkWorkflow.change_mobile, link_id, body, pool, temporal, browser
    )


@router.post(
    "/link/{link_id}/code",
    summary="Saisir le code reçu par SMS",
    response_model=LinkView,
    responses={
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        410: {"model": ErrorBody},
        422: {"model": ErrorBody},
        423: {"model": ErrorBody},
    },  # fmt: skip
)
async def submit_code(
    link_id: uuid.UUID,
    body: CodeRequest,
    pool: Pool,
    temporal: Temporal,
    browser: LinkCookie = None,
) -> LinkView:
    await _bound_link(pool, link_id, browser)
    await submit_sms_code(pool, temporal, LINK, link_id, body.code)
    return _view(link_id, await LINK.status(temporal, link_id))


@router.post(
    "/link/{link_id}/resend-code",
    summary="Renvoyer le code (l'ancien code ne fonctionne plus)",
    response_model=LinkView,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def resend_code(
    link_id: uuid.UUID, pool: Pool, temporal: Temporal, browser: LinkCookie = None
) -> LinkView:
    await _bound_link(pool, link_id, browser)
    await resend_sms_code(temporal, LINK, link_id)
    return _view(link_id, await LINK.status(temporal, link_id))


@router.post(
    "/link/{link_id}/birthdate",
    summary="Confirmer la date de naissance d'un enfant (puis connexion)",
    response_model=SignedInView,
    responses={
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
        423: {"model": ErrorBody},
    },  # fmt: skip
)
async def submit_birthdate(
    link_id: uuid.UUID,
    body: BirthdateRequest,
    response: Response,
    pool: Pool,
    temporal: Temporal,
    browser: LinkCookie = None,
    educonnect_session: Annotated[str | None, Cookie()] = None,
) -> SignedInView:
    return await link_with_birthdate(
        pool, temporal, response, link_id, body.child_birthdate, browser, educonnect_session
    )


async def link_with_birthdate(
    pool: asyncpg.Pool,
    temporal: Client,
    response: Response,
    link_id: uuid.UUID,
    birthdate: date,
    browser: str | None,
    session_cookie: str | None,
) -> SignedInView:
    """A child's birthdate: right, the identity is linked and the portal
    session opens (its cookie on `response`); wrong, refused with the tries
    left; the third wrong one blocks (with the correction's address)."""
    await _bound_link(pool, link_id, browser)
    submission = BirthdateSubmission(birthdate=birthdate)
    outcome = await LINK.update(
        temporal, link_id, FranceConnectLinkWorkflow.submit_birthdate, submission
    )
    if outcome.error == ErrorCode.BIRTHDATE_BLOCKED:
        raise DomainError(
            outcome.error, [{"attempts_left": 0, "assistance_url": correction_url(link_id)}]
        )
    if outcome.error is not None and outcome.error != ErrorCode.BIRTHDATE_INCORRECT:
        raise DomainError(outcome.error)
    if outcome.error is not None:
        raise wrong_answer(outcome.error, "child_birthdate", outcome.attempts_left)
    assert outcome.account_id is not None
    account = await pool.fetchrow(
        "SELECT identifier, state FROM accounts WHERE id = $1", outcome.account_id
    )
    if account["state"] in ("locked", "merged"):
        raise DomainError(ErrorCode.ACCOUNT_UNAVAILABLE)
    token = await start_portal_session(response, pool, outcome.account_id, replaces=session_cookie)
    waiting = await pool.fetchrow(
        "WITH old AS (SELECT id, identity_id, id_token FROM franceconnect_links WHERE id = $1 FOR UPDATE) "
        "UPDATE franceconnect_links l SET id_token = NULL FROM old WHERE l.id = old.id "
        "RETURNING old.identity_id, old.id_token",
        link_id,
    )
    if waiting is not None and waiting["id_token"]:
        await remember_franceconnect_session(
            pool, token, waiting["identity_id"], waiting["id_token"]
        )
    response.delete_cookie(LINK_COOKIE, path=COOKIE_PATH)
    view = _view(link_id, await LINK.status(temporal, link_id))
    return SignedInView(**view.model_dump(), identifier=account["identifier"])


# --- blocked after three wrong birthdates: the correction request -----------------


async def blocked_link(
    link_id: uuid.UUID, pool: Pool, temporal: Temporal, browser: LinkCookie = None
) -> Blocked:
    """The guardian of this browser's first visit, blocked on a birthdate, told
    by SMS at the number that received the code. Another browser, or any other
    step, is refused before the guardian is read."""
    await _bound_link(pool, link_id, browser)
    status = await LINK.status(temporal, link_id)
    if status.step in ENDED_STEPS:
        raise DomainError(ended_code(status))
    if status.step != LinkStep.BIRTHDATE_BLOCKED:
        raise DomainError(ErrorCode.CORRECTION_NOT_NEEDED)
    return Blocked(*await verified_guardian(pool, workflow_id(link_id), status.guardian_id))


add_correction_routes(router, "/link/{link_id}/correction", blocked_link)


# --- sign-out: at the provider too ----------------------------------------------------


def set_logout_cookie(response: Response, browser_token: str) -> None:
    _cookie(
        response,
        LOGOUT_COOKIE,
        browser_token,
        int(policies.FRANCECONNECT_LOGOUT_VALIDITY.total_seconds()),
    )


async def franceconnect_logout(pool: asyncpg.Pool, id_token: str) -> LogoutStart | None:
    """Where `POST /sign-out` sends a session opened through FranceConnect (None:
    no provider to tell, the person is signed out of EduConnect all the same)."""
    try:
        return await relying_party().begin_logout(pool, id_token)
    except DomainError:
        return None


@router.get(
    "/logout/callback",
    summary="Retour de FranceConnect après la déconnexion : « Vous êtes déconnecté »",
    response_class=HTMLResponse,
    responses={
        **PAGE_REFUSAL_RESPONSES,
        400: {"description": "Déconnexion de FranceConnect non vérifiée (page)"},
    },
)
async def logout_callback(
    pool: Pool,
    state: Annotated[str | None, Query(max_length=512)] = None,
    educonnect_fc_logout: Annotated[str | None, Cookie()] = None,
) -> HTMLResponse:
    await complete_logout(pool, educonnect_fc_logout, state)
    answer = page(
        "Vous êtes déconnecté",
        "Vous êtes déconnecté d'EduConnect et de FranceConnect.",
        extra_html=(
            f'<p><a href="{LOGIN_PATH}">S\'identifier avec FranceConnect</a> '
            "ou se connecter avec un identifiant EduConnect.</p>"
            f'<p><a class="fr-btn" href="{paths.HOME}">Retour à l’accueil</a></p>'
        ),
    )
    answer.delete_cookie(LOGOUT_COOKIE, path=COOKIE_PATH)
    return answer
