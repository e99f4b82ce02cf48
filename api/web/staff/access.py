"""Who a staff page is for, and the layout it is shown in.

- `StaffPage`: the staff member signed in (the JSON API's `current_staff`,
  from the cookie of `/gestion`); without one, the page redirects to the
  staff sign-in page with `?retour=<the page>`, and sign-in comes back there.
- `navigation`: what the member's role may do, in the header.
- `render_staff`: a template of `templates/staff/` with the member and their
  navigation; `unknown`: the French 404 page (another school's request reads
  as unknown, as the API answers)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import STAFF_COOKIE, current_staff, get_pool
from api.routers.staff_session import staff_view
from api.web import paths
from api.web.forms import render
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.corrections import StaffRole
from educonnect.staff import StaffMember

RETURN_PARAM = "retour"
T = TypeVar("T")


class StaffSignInRequired(Exception):
    """A staff page asked without a staff session: to the sign-in page, then back."""

    def __init__(self, back_to: str):
        self.back_to = back_to


def safe_return(target: str | None) -> str | None:
    """`target` when it is one of the staff pages (never another site, nor sign-in itself)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or not target.startswith(paths.GESTION + "/"):
        return None
    if parts.path in (paths.GESTION_SIGN_IN, paths.GESTION_SIGN_OUT):
        return None
    return target


def sign_in_url(back_to: str | None) -> str:
    back = safe_return(back_to)
    return (
        f"{paths.GESTION_SIGN_IN}?{RETURN_PARAM}={quote(back)}" if back else paths.GESTION_SIGN_IN
    )


async def staff_member(request: Request) -> StaffMember:
    try:
        return await current_staff(get_pool(request), request.cookies.get(STAFF_COOKIE))
    except DomainError:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise StaffSignInRequired(target if request.method == "GET" else request.url.path) from None


StaffPage = Annotated[StaffMember, Depends(staff_member)]


def install(app: FastAPI) -> None:
    async def to_sign_in(request: Request, exc: Exception) -> RedirectResponse:
        assert isinstance(exc, StaffSignInRequired)
        return RedirectResponse(sign_in_url(exc.back_to), status_code=303)

    app.add_exception_handler(StaffSignInRequired, to_sign_in)


# --- navigation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    href: str


_SCHOOL_ADMIN_NAV = (
    NavItem("requests", "Demandes de correction", paths.GESTION_REQUESTS),
    NavItem("tickets", "Tickets", paths.GESTION_TICKETS),
    NavItem("imports", "Imports", paths.GESTION_IMPORTS),
    NavItem("families", "Familles", paths.GESTION_FAMILIES),
    NavItem("disputes", "Contestations", paths.GESTION_DISPUTES),
)
_ACADEMIE_SUPPORT_NAV = (
    NavItem(
        "escalated", "Demandes escaladées", f"{paths.GESTION_REQUESTS}?onglet={paths.ESCALATED_TAB}"
    ),
    NavItem("requests", "Demandes de correction", paths.GESTION_REQUESTS),
    NavItem("tickets", "Tickets", paths.GESTION_TICKETS),
    NavItem("audit", "Journal d'audit", paths.GESTION_AUDIT),
)


def navigation(member: StaffMember) -> tuple[NavItem, ...]:
    """What the member's role may do (the header's navigation)."""
    return _SCHOOL_ADMIN_NAV if member.role == StaffRole.SCHOOL_ADMIN else _ACADEMIE_SUPPORT_NAV


def may_use(member: StaffMember, key: str) -> bool:
    return any(item.key == key for item in navigation(member))


def render_staff(
    request: Request,
    member: StaffMember,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    current: str | None = None,
    form: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """`template` in the staff layout: the member, their navigation, `current` its item."""
    return render(
        request,
        template,
        {
            **(context or {}),
            "member": member,
            "member_view": staff_view(member),
            "nav": navigation(member),
            "nav_current": current,
        },
        form=form,
        status_code=status_code,
    )


def unknown(
    request: Request, member: StaffMember, code: ErrorCode, *, back_to: str, back_label: str
) -> HTMLResponse:
    """The French page of something unknown, or out of the member's scope (the same answer)."""
    return render_staff(
        request,
        member,
        "staff/unknown.html",
        {"title": "Introuvable", "code": code.value, "message": code.message,
         "back_to": back_to, "back_label": back_label},
        status_code=code.status,
    )  # fmt: skip


async def found_or_unknown(
    request: Request,
    member: StaffMember,
    raw_id: str,
    lookup: Callable[[uuid.UUID], Awaitable[T]],
    not_found: ErrorCode,
    *,
    back_to: str,
    back_label: str,
) -> tuple[T, None] | tuple[None, HTMLResponse]:
    """`lookup(id)` (the JSON API's scope check, which audits a refusal), or the
    French page of something unknown: a malformed id, an unknown one, another
    school's (the lookup answers those like an unknown one)."""
    try:
        wanted = uuid.UUID(raw_id)
    except ValueError:
        return None, unknown(request, member, not_found, back_to=back_to, back_label=back_label)
    try:
        return await lookup(wanted), None
    except DomainError as err:
        return None, unknown(request, member, err.code, back_to=back_to, back_label=back_label)


def not_for_role(request: Request, member: StaffMember) -> HTMLResponse:
    """A page the member's role does not use: it reads as unknown too."""
    first = navigation(member)[0]
    return unknown(
        request, member, ErrorCode.PAGE_NOT_FOUND, back_to=first.href, back_label=first.label
    )
