"""Bad input on every route of the API: never a 5xx, always a stable code and a
French message (or a French page).

The routes come from the app's own OpenAPI description, so a new route is
swept without touching this test. Each is called with malformed identifiers,
broken or mistyped JSON, oversized text, NUL characters and lone surrogates
(which PostgreSQL and UTF-8 refuse), unknown ids, bad query values and bad
uploads; once without any session, once signed in as a guardian and as staff.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from api.app import create_app
from educonnect.errors import ErrorCode
from educonnect.models.corrections import StaffRole
from educonnect.staff import create_staff_account
from tests.support.accounts import make_active_account, sign_in
from tests.support.families import SCHOOL_UAI

pytestmark = pytest.mark.asyncio(loop_scope="session")

CODES = {c.value for c in ErrorCode}
# Words of the framework's and pydantic's English defaults: none may reach a person.
ENGLISH = re.compile(
    r"\b(Field required|Input should|Not Found|Method Not Allowed|Internal Server Error|value is not|detail)\b"
)
SIGN_OUTS = {"/sign-out", "/staff/sign-out"}
# A 503 is right only when another service is really out of reach: here no
# FranceConnect provider is configured for the in-process API.
OUT_OF_REACH = {("/franceconnect/", "franceconnect_unavailable")}
LONG = "x" * 5000
NASTY_TEXTS = [LONG, "abc\u0000def", "\ud800", "", "   "]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    kwargs: dict

    def __str__(self) -> str:
        shown = {
            k: (repr(v)[:80] if not isinstance(v, (bytes, str)) else repr(v[:80]))
            for k, v in self.kwargs.items()
        }
        return f"{self.method} {self.path} {shown}"


def _operations(spec: dict) -> Iterator[tuple[str, str, dict]]:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path, op


def _paths(path: str, params: list[dict]) -> list[str]:
    """The path with bad values for its parameters: malformed, then well
    formed but unknown (uuid), or a school of no one's scope (uai)."""
    names = [p["name"] for p in params if p["in"] == "path"]
    if not names:
        return [path]
    out = []
    for bad in ("pas-un-identifiant", "%00", None):
        filled = path
        for p in params:
            if p["in"] != "path":
                continue
            is_uuid = p["schema"].get("format") == "uuid"
            value = bad if bad is not None else (str(uuid.uuid4()) if is_uuid else SCHOOL_UAI)
            filled = filled.replace("{" + p["name"] + "}", value)
        out.append(filled)
    return out


def _queries(params: list[dict]) -> list[dict]:
    query = [p for p in params if p["in"] == "query"]
    if not query:
        return [{}]
    variants = [{}]
    for value in ("abc", "-1", "99999999999999999999", LONG, "\u0000"):
        variants.append({p["name"]: value for p in query})
    return variants


def _json_bodies(schema: dict, spec: dict) -> list[dict]:
    ref = schema.get("$ref")
    props: dict = {}
    if ref:
        props = spec["components"]["schemas"][ref.rsplit("/", 1)[1]].get("properties", {})
    raw = [b"{pas du json", b"[]", b'"texte"', b"{}", b"null"]
    bodies = [dict(content=r, headers={"content-type": "application/json"}) for r in raw]
    for value in [*NASTY_TEXTS, 12345, None, ["liste"], {"objet": 1}, "2026-02-30", "+33 6 00"]:
        # json.dumps escapes the lone surrogate ("\ud800"), as a browser's JSON.stringify would.
        content = json.dumps({name: value for name in props}).encode()
        bodies.append(dict(content=content, headers={"content-type": "application/json"}))
    return bodies


def _form_bodies() -> list[dict]:
    texts = [t for t in NASTY_TEXTS if t != "\ud800"]  # a form cannot carry a lone surrogate
    return [dict(data={}), *(dict(data={"jeton": t, "identifiant": t, "email": t}) for t in texts)]


def _upload_bodies() -> list[dict]:
    return [
        dict(data={}),
        dict(files={"fichier": ("vide.csv", b"", "text/csv")}),
        dict(files={"fichier": ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00", "image/png")}),
        dict(files={"fichier": ("latin1.csv", "nom;prénom\né;à\n".encode("latin-1"), "text/csv")}),
        dict(files={"autre": ("x.csv", b"a;b\n1;2\n", "text/csv")}),
        dict(
            content=b"pas du multipart",
            headers={"content-type": "multipart/form-data; boundary=xyz"},
        ),
    ]


def calls(spec: dict, *, skip: set[str] = frozenset()) -> list[Call]:
    out = []
    for method, path, op in _operations(spec):
        if path in skip:
            continue
        params = op.get("parameters", [])
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            bodies = _json_bodies(content["application/json"]["schema"], spec)
        elif "application/x-www-form-urlencoded" in content:
            bodies = _form_bodies()
        elif method == "POST" and path.endswith("/imports"):
            bodies = _upload_bodies()
        elif method in ("POST", "PUT", "PATCH"):
            bodies = [{}, dict(content=b"\x00\xff", headers={"content-type": "application/json"})]
        else:
            bodies = [{}]
        for url in _paths(path, params):
            for query in _queries(params):
                for body in bodies:
                    out.append(Call(method, url, dict(body, params=query) if query else body))
        # The wrong method on the same address.
        out.append(Call("DELETE", _paths(path, params)[-1], {}))
    return out


def check(call: Call, response: httpx.Response) -> str | None:
    """What is wrong with this answer, or None."""
    if response.status_code >= 500:
        code = (
            response.json().get("code")
            if response.headers.get("content-type", "").startswith("application/json")
            else None
        )
        if response.status_code == 503 and any(
            call.path.startswith(p) and code == c for p, c in OUT_OF_REACH
        ):
            return None
        return f"{response.status_code} {response.text[:200]}"
    if response.status_code < 400:
        return None
    kind = response.headers.get("content-type", "")
    if kind.startswith("application/json"):
        body = response.json()
        if not isinstance(body, dict) or body.get("code") not in CODES:
            return f"no stable code: {response.text[:200]}"
        texts = [body.get("message") or ""] + [
            str(d.get("message", "")) for d in body.get("details", [])
        ]
        if not texts[0] or any(ENGLISH.search(t) for t in texts):
            return f"not French: {response.text[:200]}"
        return None
    if kind.startswith("text/html"):
        return f"not French: {response.text[:200]}" if ENGLISH.search(response.text) else None
    return f"unexpected {kind!r}: {response.text[:200]}"


async def sweep(
    api: httpx.AsyncClient, spec: dict, *, skip: set[str] = frozenset()
) -> tuple[int, list[str]]:
    problems, n = [], 0
    for call in calls(spec, skip=skip):
        n += 1
        response = await api.request(call.method, call.path, **call.kwargs)
        problem = check(call, response)
        if problem:
            problems.append(f"{call} -> {problem}")
    return n, problems


async def test_bad_input_on_every_route_without_a_session(api):
    api.cookies.clear()
    spec = create_app().openapi()
    n, problems = await sweep(api, spec)
    assert n > 500, n  # the sweep really covers the API
    assert not problems, "\n".join(problems[:40])


async def sign_in_as_secretary(api: httpx.AsyncClient, db_pool) -> None:
    """A school administrator of SCHOOL_UAI, signed in on `api`."""
    tag = uuid.uuid4().hex[:8]
    login, password = f"secretariat.{tag}@ac-lyon.example.fr", f"Rentree-{tag}-Fort!9"
    await create_staff_account(
        db_pool, login=login, email=login, display_name="Secrétariat", role=StaffRole.SCHOOL_ADMIN,
        password=password, uai=SCHOOL_UAI, academie="Lyon",
    )  # fmt: skip
    assert (
        await api.post("/staff/sign-in", json={"login": login, "password": password})
    ).status_code == 200


async def test_bad_input_on_every_route_signed_in_as_guardian_and_as_staff(api, db_pool):
    account = await make_active_account(db_pool)
    assert (await sign_in(api, account.identifier, account.password)).json()[
        "status"
    ] == "signed_in"
    await sign_in_as_secretary(api, db_pool)
    spec = create_app().openapi()
    n, problems = await sweep(api, spec, skip=SIGN_OUTS)
    assert n > 500, n
    assert not problems, "\n".join(problems[:40])
    # Both sessions survived the sweep (no bad input ends a session).
    assert (await api.get("/portal")).status_code == 200
    assert (await api.get("/staff/me")).status_code == 200


async def test_the_check_itself_refuses_english_and_5xx():
    call = Call("GET", "/x", {})
    english = httpx.Response(404, json={"detail": "Not Found"})
    crash = httpx.Response(500, text="Internal Server Error")
    french = httpx.Response(
        404, json={"code": "page_not_found", "message": "Cette adresse n'existe pas."}
    )
    assert check(call, english) and check(call, crash) and check(call, french) is None


async def test_bodies_are_bounded_before_the_framework_buffers_them(api, db_pool):
    """A stranger cannot make the API hold a body of any size in memory: a JSON
    body over 1 MB, or any body over the export file's limit (with or without a
    length announced), is refused with request_too_large before any route runs."""
    await make_active_account(db_pool)  # the school of SCHOOL_UAI exists
    api.cookies.clear()
    big_json = json.dumps({"message": "x" * 3_000_000}).encode()
    for headers in ({"content-type": "application/json"}, {}):
        refused = await api.post("/assistance/tickets", content=big_json, headers=headers)
        assert refused.status_code == 413, refused.text
        assert refused.json()["code"] == "request_too_large" and refused.json()["message"]

    async def chunks(head: bytes = b""):  # no content-length: the size is only known while reading
        yield head
        for _ in range(22):
            yield b"x" * (1024 * 1024)

    streamed = await api.post("/sign-in", content=chunks(), headers={"content-type": "text/plain"})
    assert streamed.status_code == 413, streamed.text
    assert streamed.json()["code"] == "request_too_large"
    # The staff upload: a multipart form the framework would spool to disk whole.
    await sign_in_as_secretary(api, db_pool)
    part = b'--b\r\nContent-Disposition: form-data; name="fichier"; filename="x.csv"\r\nContent-Type: text/csv\r\n\r\n'
    uploaded = await api.post(
        f"/staff/provisioning/{SCHOOL_UAI}/imports",
        content=chunks(part),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert uploaded.status_code == 413, uploaded.text
    assert uploaded.json()["code"] == "request_too_large"
    announced = await api.post(
        f"/staff/provisioning/{SCHOOL_UAI}/imports",
        content=b"x" * (30 * 1024 * 1024),
        headers={"content-type": "text/csv"},
    )
    assert announced.status_code == 413 and announced.json()["code"] == "request_too_large"


async def test_json_nested_deeper_than_python_decodes_is_invalid_input(api):
    api.cookies.clear()
    for deep in (b"[" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
        refused = await api.post(
            "/sign-in", content=deep, headers={"content-type": "application/json"}
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "invalid_input"


async def test_json_without_its_content_type_is_checked_like_any_other(api, db_pool):
    """The framework decodes a body without a content type (or of a `+json`
    type) as JSON: the forbidden characters are refused there too."""
    await make_active_account(db_pool)  # the school of SCHOOL_UAI exists
    api.cookies.clear()
    ticket = {
        "last_name": "Martin", "first_name": "Paul", "email": "paul.martin@example.fr", "category": "autre",
        "message": "Bonjour\u0000", "uai": SCHOOL_UAI,
    }  # fmt: skip
    for content_type in (None, "application/merge-patch+json"):
        headers = {"content-type": content_type} if content_type else {}
        refused = await api.post(
            "/assistance/tickets", content=json.dumps(ticket).encode(), headers=headers
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "invalid_input"
