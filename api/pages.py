"""Minimal French HTML pages for what a person opens from an email."""

from __future__ import annotations

import re
import unicodedata
from html import escape

from fastapi.responses import HTMLResponse, Response

_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — EduConnect</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}
button{{font-size:1.1rem;padding:.6rem 1.2rem}}</style></head>
<body><h1>{title}</h1><p{code}>{text}</p>{extra}</body></html>"""


def page(
    title: str, text: str, *, status_code: int = 200, extra_html: str = "", code: str | None = None
) -> HTMLResponse:
    """A page; `code`, a refusal's stable code, is in the text's `data-code`."""
    return HTMLResponse(
        _PAGE.format(
            title=escape(title, quote=False),
            text=escape(text, quote=False),
            code=f' data-code="{escape(code)}"' if code else "",
            extra=extra_html,
        ),
        status_code=status_code,
    )


def form_button(action: str, fields: dict[str, str], label: str) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    return f'<form method="post" action="{escape(action)}">{inputs}<button type="submit">{escape(label)}</button></form>'


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
