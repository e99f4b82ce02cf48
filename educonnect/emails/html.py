"""The HTML part of every email, built from its text part (one source of words).

`html_of(email)` renders `templates/email.html`: the ministry's name as text
(no image: mail apps block remote ones, and a phone shows text well), then the
text's paragraphs as they are written. A paragraph that is only a link becomes
a button (its label: `Email.action`) followed by the link in full, for those
whose mail app hides buttons or who copy it; a link inside a sentence stays in
the sentence, in full and clickable, and its button follows the paragraph.
Lines starting with "- " are list items, with "1. " numbered steps.
A single column table, inline styles, at most 600 px wide: readable in a
phone's mail app."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from educonnect.emails import Email

MINISTRY = "Ministère de l'Éducation nationale"
DEFAULT_ACTION = "Ouvrir le lien"

URL = re.compile(r"https?://[^\s<>\"]+")
LIST_ITEM = re.compile(r"^\s*(?:-|\d+\.)\s+")
NUMBERED = re.compile(r"^\s*\d+\.\s+")

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class Block:
    kind: str  # "paragraph", "list", "numbered" (a list of steps), "link"
    lines: list[Markup] = field(default_factory=list)
    url: str = ""


def _linked(line: str) -> Markup:
    """`line` escaped, its links clickable (shown in full)."""
    out, last = [], 0
    for found in URL.finditer(line):
        out.append(escape(line[last : found.start()]))
        url = found.group(0).rstrip(".,;)")
        out.append(
            Markup('<a href="{0}" style="color:#000091;overflow-wrap:anywhere;">{0}</a>').format(
                url
            )
        )
        last = found.start() + len(url)
    out.append(escape(line[last:]))
    return Markup("").join(out)


def _block(kind: str, lines: list[str]) -> Block:
    """A paragraph or a list; a link inside it also gets its button after it."""
    return Block(kind, [_linked(line) for line in lines], _first_url("\n".join(lines)))


def _list(items: list[str], numbered: bool) -> Block:
    return _block("numbered" if numbered else "list", items)


def blocks_of(text: str) -> list[Block]:
    """The text's paragraphs (separated by blank lines), each a link, a list or words."""
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = [line for line in chunk.split("\n") if line.strip()]
        if len(lines) == 1 and URL.fullmatch(lines[0].strip()):
            blocks.append(Block("link", url=lines[0].strip()))
            continue
        paragraph: list[str] = []
        items: list[str] = []
        numbered = False
        for line in lines:
            if LIST_ITEM.match(line):
                if paragraph:
                    blocks.append(_block("paragraph", paragraph))
                    paragraph = []
                numbered = numbered or bool(NUMBERED.match(line))
                items.append(LIST_ITEM.sub("", line, count=1))
            else:
                if items:
                    blocks.append(_list(items, numbered))
                    items, numbered = [], False
                paragraph.append(line.strip())
        if paragraph:
            blocks.append(_block("paragraph", paragraph))
        if items:
            blocks.append(_list(items, numbered))
    return blocks


def _first_url(text: str) -> str:
    found = URL.search(text)
    return found.group(0).rstrip(".,;)") if found else ""


def html_of(email: Email) -> str:
    """The HTML part of `email`: the same words as its text part."""
    return _env.get_template("email.html").render(
        subject=email.subject,
        ministry=MINISTRY,
        blocks=blocks_of(email.text),
        action=email.action or DEFAULT_ACTION,
    )
