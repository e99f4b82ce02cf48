"""French pages of one message (what a person opens from an email, refusals),
in the layout of every page (`api.web`)."""

from __future__ import annotations

import re
import unicodedata
from html import escape

from fastapi.responses import HTMLResponse, Response


def page(
    title: str, text: str, *, status_code: int = 200, extra_html: str = "", code: str | None = None
) -> HTMLResponse:
    """A page of one message in the site's layout (`api/web/templates/message.html`);
    `code`, a refusal's stable code, is in the text's `data-code`."""
    from api.web.forms import render_message  # the templates import api.errors, which imports us

    return render_message(title, text, status_code=status_code, code=code, extra_html=extra_html)


def form_button(action: str, fields: dict[str, str], label: str) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    # The link pages' forms: their hidden fields carry the link's secret token,
    # which no other site knows (it plays the CSRF token's part).
    return (
        f'<form method="post" action="{escape(action)}">{inputs}'
        f'<button class="fr-btn" type="submit">{escape(label)}</button></form>'
    )


_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str) -> str:
    """`name` in plain ASCII letters, digits, dots and dashes: a header holds
    Latin-1 only, and a quote would end the filename ("5ᵉ “B”" -> "5e_B")."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return _UNSAFE_IN_FILENAME.sub("_", ascii_name)


def pdf_download(content: bytes, filename: str) -> Response:
    """A PDF to save (letters with provisional credentials: never cached)."""
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{safe_filename(filename)}"',
            "Cache-Control": "no-store",
        },
    )
