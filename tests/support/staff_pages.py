"""Staff pages in process (api/web/staff/): a client signed in through the
staff sign-in page (its CSRF token, its cookie scoped to /gestion)."""

from __future__ import annotations

import re

import httpx

from tests.support.corrections import StaffUser

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf_of(http: httpx.AsyncClient, path: str) -> str:
    page = await http.get(path)
    assert page.status_code == 200, page.text
    return CSRF.search(page.text).group(1)


async def post_form(http: httpx.AsyncClient, path: str, data: dict[str, str]) -> httpx.Response:
    """POST `data` with the CSRF token of the page at `path` (its form)."""
    return await http.post(path, data={"csrf_token": await csrf_of(http, path), **data})


async def follow(http: httpx.AsyncClient, response: httpx.Response) -> httpx.Response:
    """The GET after a POST (PRG)."""
    assert response.status_code == 303, response.text
    return await http.get(response.headers["location"])


async def sign_in_page(
    http: httpx.AsyncClient, staff: StaffUser, retour: str = ""
) -> httpx.Response:
    """Sign in as `staff` through the staff sign-in page: the redirect it answers."""
    token = await csrf_of(http, "/gestion/connexion")
    return await http.post(
        "/gestion/connexion",
        data={
            "csrf_token": token,
            "login": staff.login,
            "password": staff.password,
            "retour": retour,
        },
    )


async def signed_in_pages(http: httpx.AsyncClient, staff: StaffUser) -> httpx.AsyncClient:
    signed = await sign_in_page(http, staff)
    assert signed.status_code == 303 and "educonnect_staff_session" in signed.cookies, signed.text
    return http
