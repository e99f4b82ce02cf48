"""Reading what the real SMTP sink received."""

from __future__ import annotations

import asyncio
import re
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


NOTIFICATION_SUBJECT = "Vos identifiants EduConnect"


def provisional_credentials(text: str) -> tuple[str, str]:
    """(identifier, provisional password) read from a notification email or a
    letter's text (FAQ 2.2)."""
    identifier = re.search(r"Identifiant :\s*(\S+)", text).group(1)
    password = re.search(r"Mot de passe provisoire :\s*(\S+)", text).group(1)
    return identifier, password
