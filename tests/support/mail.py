"""Reading what the real SMTP sink received."""

from __future__ import annotations

import asyncio
import html as html_lib
import re
from html.parser import HTMLParser
from pathlib import Path

from educonnect.devtools.smtp_sink import MailboxMessage, read_mailbox

LINK = re.compile(r"https?://\S+jeton=[A-Za-z0-9_\-]+")


class Mailbox:
    def __init__(self, folder: Path):
        self.folder = folder

    def to(self, address: str) -> list[MailboxMessage]:
        """Messages to `address`, oldest first."""
        return sorted(
            (m for m in read_mailbox(self.folder) if address in m.to), key=lambda m: (m.date, m.id)
        )

    async def wait_for(self, address: str, count: int, timeout: float = 15) -> list[MailboxMessage]:
        """Wait (in real time) until `address` has received `count` messages."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            messages = self.to(address)
            if len(messages) >= count or loop.time() > deadline:
                return messages
            await asyncio.sleep(0.05)


def link_in(message: MailboxMessage) -> str:
    found = LINK.search(message.text)
    assert found, f"no link in {message.subject!r}"
    return found.group(0)


def token_of(link: str) -> str:
    return link.split("jeton=", 1)[1]


class _Reader(HTMLParser):
    """The words a reader sees in an HTML part, and its links (href, text)."""

    def __init__(self):
        super().__init__()
        self.words: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._link_text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("head", "style", "title"):
            self._skip += 1
        if tag == "a":
            self._href, self._link_text = dict(attrs).get("href") or "", []

    def handle_endtag(self, tag):
        if tag in ("head", "style", "title"):
            self._skip -= 1
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._link_text).split())))
            self._href = None

    def handle_data(self, data):
        if self._skip:
            return
        self.words.append(data)
        if self._href is not None:
            self._link_text.append(data)


def html_words(message: MailboxMessage) -> str:
    """The HTML part's visible text, whitespace folded (entities decoded)."""
    reader = _Reader()
    reader.feed(message.html)
    return " ".join(html_lib.unescape(" ".join(reader.words)).split())


def html_links(message: MailboxMessage) -> list[tuple[str, str]]:
    """The HTML part's links: (href, the text shown)."""
    reader = _Reader()
    reader.feed(message.html)
    return reader.links


def text_words(text: str) -> str:
    """Words of a text part, whitespace folded, list marks ("- ", "1. ") dropped."""
    lines = [re.sub(r"^\s*(?:-|\d+\.)\s+", "", line) for line in text.split("\n")]
    return " ".join(" ".join(lines).split())


NOTIFICATION_SUBJECT = "Vos identifiants EduConnect"


def provisional_credentials(text: str) -> tuple[str, str]:
    """(identifier, provisional password) read from a notification email or a
    letter's text (FAQ 2.2)."""
    identifier = re.search(r"Identifiant :\s*(\S+)", text).group(1)
    password = re.search(r"Mot de passe provisoire :\s*(\S+)", text).group(1)
    return identifier, password
