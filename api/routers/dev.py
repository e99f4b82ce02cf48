"""Development pages: the mailbox of the dev SMTP sink and the outbox of the dev
SMS gateway, so that one can follow a process end to end in a browser.

Included by the app only when the development stack runs (EDUCONNECT_DEV_PAGES=1);
every route answers 404 otherwise.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import HTMLResponse

from educonnect.devtools.sms_gateway import read_outbox
from educonnect.devtools.smtp_sink import read_mailbox
from educonnect.french_dates import paris_date_time
from educonnect.settings import get_settings


def _dev_pages_enabled() -> None:
    if not getattr(get_settings(), "dev_pages", False):
        raise HTTPException(status_code=404, detail="Page introuvable.")


router = APIRouter(
    prefix="/dev",
    tags=["Développement"],
    dependencies=[Depends(_dev_pages_enabled)],
)

_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}»"


def linkify(text: str) -> str:
    """HTML-escape `text`, turning http(s) URLs into links."""
    out: list[str] = []
    pos = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        out.append(html.escape(text[pos : match.start()]))
        href = html.escape(url, quote=True)
        out.append(f'<a href="{href}" rel="noopener noreferrer">{href}</a>')
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _format_date(value: datetime | str | None) -> str:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        value = parsed
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return paris_date_time(value, seconds=True)


def _page(title: str, count_label: str, items: list[str], empty: str) -> HTMLResponse:
    """The list in the pages' layout (`api/web/templates/dev.html`); `items` are HTML
    built here (escaped, links made clickable by `linkify`)."""
    from api.web.forms import templates

    page = templates.env.get_template("dev.html").render(
        title=title,
        count_label=count_label,
        items=items,
        empty=empty,
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def _plural(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n <= 1 else plural}"


def _mailbox_folder():
    return get_settings().data_dir / "mailbox"


def _outbox_path():
    return get_settings().data_dir / "sms-outbox.jsonl"


@router.get("/mailbox", response_class=HTMLResponse, summary="Boîte aux lettres de développement")
def mailbox_page(limit: int = Query(200, ge=1, le=5000)) -> HTMLResponse:
    messages = read_mailbox(_mailbox_folder())
    items = [
        f"""<article id="{html.escape(m.id, quote=True)}">
<h2>{html.escape(m.subject or "(sans objet)")}</h2>
<dl>
<dt>Destinataire</dt><dd>{html.escape(m.to)}</dd>
<dt>Expéditeur</dt><dd>{html.escape(m.sender)}</dd>
<dt>Reçu le</dt><dd>{html.escape(_format_date(m.date))}</dd>
</dl>
<pre>{linkify(m.text)}</pre>
</article>"""
        for m in messages[:limit]
    ]
    return _page(
        "Boîte aux lettres de développement",
        _plural(len(messages), "courriel reçu", "courriels reçus")
        + ", du plus récent au plus ancien",
        items,
        "Aucun courriel pour l'instant.",
    )


@router.get("/mailbox.json", summary="Courriels reçus (JSON)")
def mailbox_json(limit: int = Query(200, ge=1, le=5000)) -> list[dict[str, Any]]:
    return [m.as_json() for m in read_mailbox(_mailbox_folder())[:limit]]


@router.get("/sms", response_class=HTMLResponse, summary="SMS envoyés (développement)")
def sms_page(limit: int = Query(200, ge=1, le=5000)) -> HTMLResponse:
    messages = read_outbox(_outbox_path())
    items = [
        f"""<article id="{html.escape(str(m.get("id", "")), quote=True)}">
<h2>{html.escape(str(m.get("to", "")))}</h2>
<dl>
<dt>Envoyé le</dt><dd>{html.escape(_format_date(m.get("received_at")))}</dd>
</dl>
<pre>{linkify(str(m.get("text", "")))}</pre>
</article>"""
        for m in messages[:limit]
    ]
    return _page(
        "SMS envoyés (développement)",
        _plural(len(messages), "SMS envoyé", "SMS envoyés") + ", du plus récent au plus ancien",
        items,
        "Aucun SMS pour l'instant.",
    )


@router.get("/sms.json", summary="SMS envoyés (JSON)")
def sms_json(limit: int = Query(200, ge=1, le=5000)) -> list[dict[str, Any]]:
    return read_outbox(_outbox_path())[:limit]
