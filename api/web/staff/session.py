"""Staff sign-in, sign-out and password change (issue 13, item 1), through the
JSON API's staff session (`api.routers.staff_session`): the same limits
(progressive delays per login and address, never a lock-out; the per-address
limit), the same audit, the cookie scoped to `/gestion`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from api.deps import STAFF_COOKIE, Pool
from api.routers.staff_session import (
    PasswordChangeBody,
    SignInBody,
    change_staff_password,
    close_staff_session,
    open_staff_session,
    set_staff_cookie,
)
from api.web import paths
from api.web.forms import errors_of, named, notice, read_form, redirect, render, validation_errors
from api.web.staff.access import (
    RETURN_PARAM,
    StaffPage,
    navigation,
    render_staff,
    safe_return,
    sign_in_url,
)
from educonnect import policies
from educonnect.errors import DomainError
from educonnect.passwords import STAFF_MESSAGES

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

SIGN_IN_FORM = "gestion-connexion"
PASSWORD_FORM = "gestion-mot-de-passe"
PASSWORD_LABELS = {
    "current_password": "Mot de passe actuel",
    "new_password": "Nouveau mot de passe",
    "new_password_confirmation": "Confirmation du nouveau mot de passe",
}


def _limits() -> dict[str, object]:
    """The sign-in limits in French, from the policies (said before anyone is refused)."""
    return {
        "free_failures": policies.SIGN_IN_FREE_FAILURES,
        "max_delay_minutes": int(policies.SIGN_IN_MAX_DELAY.total_seconds() // 60),
        "ip_failures": policies.SIGN_IN_IP_MAX_FAILURES,
        "ip_window_minutes": int(policies.SIGN_IN_IP_WINDOW.total_seconds() // 60),
        "session_hours": int(policies.STAFF_SESSION_TTL.total_seconds() // 3600),
    }


@router.get(paths.GESTION)
async def landing(member: StaffPage) -> RedirectResponse:
    return redirect(navigation(member)[0].href)


@router.get(paths.GESTION_SIGN_IN)
async def sign_in_page(request: Request):
    back = safe_return(request.query_params.get(RETURN_PARAM))
    return render(
        request,
        "staff/sign_in.html",
        {"title": "Connexion du personnel", "back_to": back or "", "limits": _limits()},
        form=SIGN_IN_FORM,
    )


@router.post(paths.GESTION_SIGN_IN)
async def sign_in(request: Request, pool: Pool):
    form = await read_form(request, SIGN_IN_FORM, secret_fields=("password",))
    back = safe_return(form.get(RETURN_PARAM))
    page = sign_in_url(back)
    if not form.csrf_ok:
        return form.expired(page)
    try:
        body = SignInBody(login=form.get("login"), password=form.get("password"))
    except ValidationError as exc:
        labels = {"login": "Identifiant", "password": "Mot de passe"}
        return form.refused(page, named(validation_errors(exc, form.values), labels))
    try:
        member, token = await open_staff_session(pool, body.login, body.password, request)
    except DomainError as err:  # which of the two is wrong is never said
        return form.refused(page, errors_of(err))
    response = redirect(back or navigation(member)[0].href)
    set_staff_cookie(response, token, path=paths.GESTION, samesite="lax")
    return response


@router.post(paths.GESTION_SIGN_OUT)
async def sign_out(request: Request, member: StaffPage, pool: Pool):
    form = await read_form(request, "gestion-deconnexion")
    if not form.csrf_ok:
        return form.expired(navigation(member)[0].href)
    await close_staff_session(pool, member, request.cookies.get(STAFF_COOKIE))
    response = notice(paths.GESTION_SIGN_IN, SIGN_IN_FORM, "Vous êtes déconnecté.")
    response.delete_cookie(STAFF_COOKIE, path=paths.GESTION, httponly=True, samesite="lax")
    return response


@router.get(paths.GESTION_PASSWORD)
async def password_page(request: Request, member: StaffPage):
    rules = [{"code": code, "message": text} for code, text in STAFF_MESSAGES.items()]
    return render_staff(
        request,
        member,
        "staff/password.html",
        {"title": "Modifier mon mot de passe", "password_rules": rules},
        form=PASSWORD_FORM,
    )


@router.post(paths.GESTION_PASSWORD)
async def change_password(request: Request, member: StaffPage, pool: Pool):
    form = await read_form(request, PASSWORD_FORM, secret_fields=tuple(PASSWORD_LABELS))
    if not form.csrf_ok:
        return form.expired(paths.GESTION_PASSWORD)
    try:
        body = PasswordChangeBody(**{name: form.get(name) for name in PASSWORD_LABELS})
    except ValidationError as exc:
        return form.refused(
            paths.GESTION_PASSWORD, named(validation_errors(exc, form.values), PASSWORD_LABELS)
        )
    try:
        await change_staff_password(pool, member, body, request.cookies.get(STAFF_COOKIE))
    except DomainError as err:
        return form.refused(paths.GESTION_PASSWORD, errors_of(err))
    return notice(
        paths.GESTION_PASSWORD,
        PASSWORD_FORM,
        "Votre mot de passe est modifié. Vos autres sessions (autres navigateurs, autres postes) sont fermées.",
    )
