"""Accueil / connexion (DESIGN §3.5, FAQ 3), and the portal page.

The sign-in form posts to `SIGN_IN`, which signs in exactly as `POST
/sign-in` does (`api.routers.sign_in.sign_in_with_password`: limits, delays
and locks, sessions, the activation started or resumed) and sends the person
to the page of where they are: the step of their activation (built from the
workflow's status), or the portal."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from api.deps import SESSION_COOKIE, Pool, Temporal, clear_session_cookie, request_client_ip
from api.routers.franceconnect import set_logout_cookie
from api.routers.portal import portal as portal_view
from api.routers.sign_in import (
    SignInRequest,
    SignInStatus,
    sign_in_with_password,
    sign_out_session,
)
from api.web import paths
from api.web.activation import page_of
from api.web.forms import (
    HOME_FORM,
    FormState,
    back_home,
    carry,
    errors_of,
    notice,
    read_form,
    redirect,
    render,
    validation_errors,
)
from api.web.pupil_activation import page_of as pupil_page_of
from api.web.service_return import forget_service, pending_service
from educonnect import sessions
from educonnect.account_management import take_notices
from educonnect.errors import DomainError, ErrorCode

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

PORTAL_FORM = "portail"


@router.get(paths.HOME)
async def home(request: Request):
    return render(request, "home.html", {"title": "Connexion"}, form=HOME_FORM)


@router.post(paths.SIGN_IN)
async def sign_in(request: Request, pool: Pool, temporal: Temporal):
    form = await read_form(request, HOME_FORM, secret_fields=("password",))
    if not form.csrf_ok:
        return form.expired(paths.HOME)
    try:
        body = SignInRequest(identifier=form.get("identifier"), password=form.get("password"))
    except ValidationError as exc:
        return form.refused(paths.HOME, validation_errors(exc, form.values))
    response = redirect(paths.PORTAL)
    try:
        result = await sign_in_with_password(
            pool,
            temporal,
            body,
            request_client_ip(request),
            response,
            request.cookies.get(SESSION_COOKIE),
        )
    except DomainError as err:
        # Above the form: which of the two is wrong is never said.
        return form.refused(paths.HOME, errors_of(err))
    if result.status == SignInStatus.ACTIVATION_REQUIRED:
        if result.activation is not None:
            response.headers["location"] = page_of(result.activation.step)
        elif result.pupil_activation is not None:
            response.headers["location"] = pupil_page_of(result.pupil_activation.step)
    elif result.notices:  # shown once (sign-in marked them read): the portal page says them
        carry(response, FormState(form=PORTAL_FORM, notice=" ".join(result.notices)))
    return response


@router.post(paths.SIGN_OUT)
async def sign_out(request: Request, pool: Pool):
    form = await read_form(request, "deconnexion")
    if not form.csrf_ok:
        return form.expired(paths.PORTAL)
    logout = await sign_out_session(pool, request.cookies.get(SESSION_COOKIE))
    if logout is None:
        response = notice(paths.HOME, HOME_FORM, "Vous êtes déconnecté.")
        forget_service(response)
    else:  # opened through FranceConnect: its end_session, back to « Vous êtes déconnecté »
        response = redirect(logout.end_session_url)
        set_logout_cookie(response, logout.browser_token)
    clear_session_cookie(response)
    return response


@router.get(paths.PORTAL)
async def portal(request: Request, pool: Pool):
    """The portal, as the JSON `GET /portal` builds it: a card per child (their
    school, class and services), the account menu in the header, the notice
    when the address is to validate (FAQ 7)."""
    token = request.cookies.get(SESSION_COOKIE)
    session = await sessions.find_session(pool, token) if token else None
    if session is None or session.scope != "portal":
        return back_home(DomainError(ErrorCode.SESSION_REQUIRED))
    if waiting := pending_service(request):  # signed in on the way to a service: on to it
        response = redirect(waiting)
        forget_service(response)
        return response
    try:
        view = await portal_view(session, pool)
    except DomainError as err:
        return back_home(err)
    return render(
        request,
        "portal.html",
        {
            "title": "Mes services",
            "portal": view,
            "notices": await take_notices(pool, session.account_id),
        },
        form=PORTAL_FORM,
    )
