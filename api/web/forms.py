"""Rendering pages, and what every form of theirs shares (DESIGN §8).

- `render`: a template of `api/web/templates/` as an HTML answer, with the
  CSRF token of the browser (set in its cookie on the way when missing).
- CSRF: a signed double submit. The browser holds a random value in an
  HttpOnly cookie (`educonnect_csrf`); every form carries its HMAC under the
  server's secret (`csrf_token`). A POST whose field is not the HMAC of its
  cookie is refused (`form_expired`) before anything runs; another site can
  neither read the value nor forge its HMAC (nor plant a cookie whose HMAC it
  knows). `api.cross_site_guard` still refuses foreign origins first.
- A refused POST redirects (303) to its form's page with the refusal and the
  typed values (never a password) in a short-lived signed cookie
  (`educonnect_form`), read once by that page: each error at its field and in
  the summary at the top, with its stable code (`data-code`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError

from api.errors import FIELD_MESSAGES
from api.web import paths
from api.web.formatting import masked_email
from educonnect.csv_import import parse_birthdate
from educonnect.errors import DomainError, ErrorCode
from educonnect.french_dates import (
    french_date,
    paris_date_time,
    paris_day_in_words,
    paris_moment_in_words,
)
from educonnect.settings import get_settings

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

CSRF_COOKIE = "educonnect_csrf"
CSRF_FIELD = "csrf_token"
CSRF_COOKIE_MAX_AGE = 12 * 3600
FORM_COOKIE = "educonnect_form"
FORM_COOKIE_MAX_AGE = 600

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["paths"] = paths
templates.env.globals["csrf_field"] = CSRF_FIELD
templates.env.filters["masked_email"] = masked_email
templates.env.filters["french_moment"] = paris_moment_in_words
templates.env.filters["french_day"] = paris_day_in_words
templates.env.filters["date_fr"] = french_date  # 12/03/2027
templates.env.filters["moment_fr"] = paris_date_time  # 12/03/2027 à 14:05 (Paris)


# --- signing ---------------------------------------------------------------------------------


def _mac(purpose: str, value: str) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"{purpose}|{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_token_for(cookie_value: str) -> str:
    return _mac("csrf", cookie_value)


def csrf_valid(cookie_value: str | None, token: str | None) -> bool:
    if not cookie_value or not token:
        return False
    return hmac.compare_digest(csrf_token_for(cookie_value), token)


# --- the state of a refused form ----------------------------------------------------------------


@dataclass
class FieldError:
    field: str | None  # None: the refusal concerns the whole form
    message: str
    code: str


@dataclass
class FormState:
    """What a form's page shows after a refusal (or a notice after a success)."""

    form: str = ""
    values: dict[str, str] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    code: str | None = None  # the refusal's stable code
    notice: str | None = None  # a success to say once ("Un nouveau lien a été envoyé...")
    notice_kind: str = "success"  # or "info": guidance rather than a success

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def error_for(self, name: str) -> FieldError | None:
        return next((e for e in self.errors if e.field == name), None)

    @property
    def general_errors(self) -> list[FieldError]:
        return [e for e in self.errors if e.field is None]

    def dump(self) -> str:
        data = {
            "form": self.form,
            "values": self.values,
            "errors": [e.__dict__ for e in self.errors],
            "code": self.code,
            "notice": self.notice,
            "notice_kind": self.notice_kind,
        }
        payload = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
        return f"{payload}.{_mac('form', payload)}"

    @classmethod
    def load(cls, raw: str | None, form: str) -> FormState:
        """The state left for `form` by the last POST, if signed by us; else an empty one."""
        empty = cls(form=form)
        if not raw or "." not in raw:
            return empty
        payload, mac = raw.rsplit(".", 1)
        if not hmac.compare_digest(_mac("form", payload), mac):
            return empty
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return empty
        if data.get("form") != form:
            return empty
        return cls(
            form=form,
            values={str(k): str(v) for k, v in data.get("values", {}).items()},
            errors=[FieldError(**e) for e in data.get("errors", [])],
            code=data.get("code"),
            notice=data.get("notice"),
            notice_kind="info" if data.get("notice_kind") == "info" else "success",
        )


def errors_of(
    err: DomainError, code_fields: Mapping[ErrorCode, str] | None = None
) -> list[FieldError]:
    """A refusal as the page shows it: each detail naming a field at that
    field (with its own message when it has one, e.g. each broken password
    rule); otherwise at the field `code_fields` gives its code, or the whole form."""
    errors = [
        FieldError(
            field=d["field"],
            message=d.get("message") or err.message,
            code=d.get("code") or err.code.value,
        )
        for d in err.details
        if isinstance(d, dict) and d.get("field")
    ]
    if not errors:
        errors = [FieldError((code_fields or {}).get(err.code), err.message, err.code.value)]
    return errors


def validation_errors(exc: ValidationError, values: Mapping[str, str]) -> list[FieldError]:
    """pydantic's refusals of typed values, in the API's French words."""
    errors = []
    for e in exc.errors():
        name = str(e["loc"][0]) if e.get("loc") else None
        kind = "missing" if name and not values.get(name, "").strip() else e.get("type", "")
        errors.append(
            FieldError(name, FIELD_MESSAGES.get(kind, "Valeur invalide."), ErrorCode.INVALID_INPUT)
        )
    return errors


DATE_FORMAT_MESSAGE = "Date invalide : format attendu JJ/MM/AAAA (par exemple 14/07/2012)."


def typed_date(form: PostedForm, name: str, errors: list[FieldError]) -> date | None:
    """The date typed in field `name` (JJ/MM/AAAA, or AAAA-MM-JJ); None when
    empty (the model says it is required) or unreadable (an error added)."""
    typed = form.get(name).strip()
    if not typed:
        return None
    parsed = parse_birthdate(typed)
    if parsed is None:
        errors.append(FieldError(name, DATE_FORMAT_MESSAGE, ErrorCode.INVALID_INPUT.value))
    return parsed


# --- a posted form ----------------------------------------------------------------------------


@dataclass
class PostedForm:
    """A form as posted: its values, whether its CSRF token holds, and the
    names of its secret fields (never sent back)."""

    name: str
    values: dict[str, str]
    csrf_ok: bool
    secrets: frozenset[str] = frozenset()

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def kept_values(self) -> dict[str, str]:
        return {k: v for k, v in self.values.items() if k not in self.secrets and k != CSRF_FIELD}

    def refused(
        self, back_to: str, errors: Iterable[FieldError], code: str | None = None
    ) -> RedirectResponse:
        """Back to the form's page (303) with the errors and the typed values."""
        errors = list(errors)
        state = FormState(
            form=self.name,
            values=self.kept_values(),
            errors=errors,
            code=code or (errors[0].code if errors else None),
        )
        return redirect(back_to, state)

    def expired(self, back_to: str) -> RedirectResponse:
        code = ErrorCode.FORM_EXPIRED
        return self.refused(back_to, [FieldError(None, code.message, code.value)], code.value)


async def read_form(
    request: Request, name: str, *, secret_fields: Iterable[str] = ()
) -> PostedForm:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    return PostedForm(
        name=name,
        values=values,
        csrf_ok=csrf_valid(request.cookies.get(CSRF_COOKIE), values.get(CSRF_FIELD)),
        secrets=frozenset(secret_fields),
    )


def redirect(url: str, state: FormState | None = None) -> RedirectResponse:
    """POST, then redirect to a GET (303); `state` is read once by the page at `url`."""
    response = RedirectResponse(url, status_code=303)
    if state is not None:
        carry(response, state)
    return response


def carry(response: Response, state: FormState) -> None:
    """The next page named `state.form` reads `state` once."""
    response.set_cookie(
        FORM_COOKIE,
        state.dump(),
        max_age=FORM_COOKIE_MAX_AGE,
        httponly=True,
        secure=get_settings().secure_cookies,
        samesite="lax",
    )


def notice(url: str, form: str, text: str, *, kind: str = "success") -> RedirectResponse:
    """Redirect to `url`, whose page says `text` once (a success, or "info")."""
    return redirect(url, FormState(form=form, notice=text, notice_kind=kind))


def refusal_elsewhere(url: str, form: str, err: DomainError) -> RedirectResponse:
    """Redirect to another page (`url`) that shows this refusal at its top."""
    return redirect(url, FormState(form=form, errors=errors_of(err), code=err.code.value))


# --- rendering --------------------------------------------------------------------------------


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    form: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """`template` with `context`, the browser's CSRF token (`csrf_token`) and,
    for a page with a form named `form`, the state its last POST left (`form`)."""
    cookie_value = request.cookies.get(CSRF_COOKIE)
    new_cookie = None
    if not cookie_value:
        new_cookie = cookie_value = secrets.token_urlsafe(32)
    state = FormState.load(request.cookies.get(FORM_COOKIE), form) if form else FormState()
    response = templates.TemplateResponse(
        request,
        template,
        {**(context or {}), "csrf_token": csrf_token_for(cookie_value), "form": state},
        status_code=status_code,
    )
    settings = get_settings()
    if new_cookie:
        response.set_cookie(
            CSRF_COOKIE,
            new_cookie,
            max_age=CSRF_COOKIE_MAX_AGE,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="lax",
        )
    if form and FORM_COOKIE in request.cookies:
        response.delete_cookie(
            FORM_COOKIE, httponly=True, secure=settings.secure_cookies, samesite="lax"
        )
    return response


def render_message(
    title: str,
    text: str,
    *,
    status_code: int = 200,
    code: str | None = None,
    extra_html: str = "",
) -> HTMLResponse:
    """A page of one message (the link pages, refusals); `code` in the text's `data-code`.
    Needs no request: these pages hold no CSRF-protected form of ours."""
    # Escaped as before the templates (apostrophes kept as typed: "L'identifiant").
    html = templates.env.get_template("message.html").render(
        title=Markup(escape(title, quote=False)),
        text=Markup(escape(text, quote=False)),
        code=code,
        extra_html=extra_html,
    )
    return HTMLResponse(html, status_code=status_code)


HOME_FORM = "connexion"


def back_home(err: DomainError) -> RedirectResponse:
    """A page that cannot be shown (no session, no process): the home page says why."""
    return refusal_elsewhere(paths.HOME, HOME_FORM, err)


def named(errors: list[FieldError], labels: Mapping[str, str]) -> list[FieldError]:
    """The field's label before a message that does not name it ("Ce champ est
    obligatoire."), so that the summary at the top says which field."""
    for e in errors:
        label = labels.get(e.field or "")
        if label and (e.message in FIELD_MESSAGES.values() or e.message == "Valeur invalide."):
            e.message = f"{label} : {e.message[:1].lower()}{e.message[1:]}"
    return errors
