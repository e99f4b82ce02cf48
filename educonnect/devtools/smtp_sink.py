"""SMTP sink of the development stack: a real SMTP server on loopback
(aiosmtpd) that keeps every message it receives in a Maildir folder.

The dev mailbox page (`GET /dev/mailbox`) and the tests read that folder with
`read_mailbox`. Replace the sink with a real relay by setting SMTP_URL.
"""

from __future__ import annotations

import email
import email.policy
import html
import logging
import mailbox
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import getaddresses
from pathlib import Path
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from educonnect.devtools.processes import free_port

log = logging.getLogger(__name__)


# Decides, before a message is stored, whether the sink takes it: None to
# store it, or the SMTP reply to give instead (e.g. "451 ..."), storing nothing.
# It may take its time: the sender waits for the reply, as with a slow server.
Gate = Callable[[Envelope], Awaitable[str | None]]

# Runs once a message is stored, before the sink answers "250": the sender
# waits for it (tests: a mail read, or its link clicked, while its sender
# still waits for the reply).
Stored = Callable[[Envelope], Awaitable[None]]


class MaildirHandler:
    """aiosmtpd handler that stores each message, as received, in a Maildir.

    The envelope sender and recipients are prepended as X-MailFrom / X-RcptTo
    headers so that the mailbox shows who the message was really sent to.
    An optional `gate` (tests) can hold or refuse messages before they are stored.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._ensure_folders()
        self.maildir = mailbox.Maildir(self.folder, factory=None, create=False)
        self.gate: Gate | None = None
        self.on_stored: Stored | None = None

    def _ensure_folders(self) -> None:
        # Maildir(create=True) only makes tmp/new/cur for a folder that does not
        # exist yet; make them always (the folder may also be emptied by hand).
        for sub in ("tmp", "new", "cur"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        gate = self.gate
        if gate is not None:
            refusal = await gate(envelope)
            if refusal is not None:
                log.debug("gate refused the message for %s: %s", envelope.rcpt_tos, refusal)
                return refusal
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        trace = (
            f"X-MailFrom: {envelope.mail_from}\r\nX-RcptTo: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode("utf-8", "replace")
        self._ensure_folders()
        # Maildir writes into tmp/ then renames into new/: readers never see half a message.
        key = self.maildir.add(trace + content)
        log.debug("stored message %s for %s", key, envelope.rcpt_tos)
        on_stored = self.on_stored
        if on_stored is not None:
            await on_stored(envelope)
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on loopback that keeps messages in a Maildir folder.

    `start()` runs it in a background thread (aiosmtpd's Controller); `port=0`
    picks a free port, available as `.port` afterwards.
    """

    def __init__(self, folder: Path | str, host: str = "127.0.0.1", port: int = 1025):
        self.folder = Path(folder)
        self.host = host
        self.port = port
        self._controller: Controller | None = None
        self._handler = MaildirHandler(self.folder)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self, host: str | None = None, port: int | None = None) -> SmtpSink:
        if self._controller is not None:
            raise RuntimeError("SMTP sink already started")
        if host is not None:
            self.host = host
        if port is not None:
            self.port = port
        if self.port == 0:
            self.port = free_port(self.host)
        self._controller = Controller(
            self._handler,
            hostname=self.host,
            port=self.port,
            server_hostname="educonnect-dev-smtp",
            enable_SMTPUTF8=True,
            ready_timeout=10,
        )
        self._controller.start()
        log.info("SMTP sink listening on %s:%s, mailbox %s", self.host, self.port, self.folder)
        return self

    def set_gate(self, gate: Gate | None) -> None:
        """Hold or refuse messages before they are stored (None: take them all).
        The gate runs on the sink's own thread and event loop."""
        self._handler.gate = gate

    def set_on_stored(self, hook: Stored | None) -> None:
        """Run `hook` after each message is stored, before the reply (None: no hook).
        It runs on the sink's own thread and event loop."""
        self._handler.on_stored = hook

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        if self._controller is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class MailboxMessage:
    id: str
    date: datetime  # delivery time in the sink (UTC)
    sender: str
    to: str
    subject: str
    text: str
    html: str = ""  # the HTML part, when the message has one

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["date"] = self.date.isoformat()
        return data


def _text_body(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset, broken encoding
        payload = cast(bytes, part.get_payload(decode=True) or b"")  # decoded: bytes
        content = payload.decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        content = html.unescape(re.sub(r"<[^>]+>", "", content))
    if not isinstance(content, str):
        content = content.decode("utf-8", "replace")
    return content.replace("\r\n", "\n")


def _html_body(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        payload = cast(bytes, part.get_payload(decode=True) or b"")
        content = payload.decode("utf-8", "replace")
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


def _addresses(value: str | None) -> str:
    pairs = getaddresses([value]) if value else []
    return ", ".join(addr for _, addr in pairs if addr) or (value or "")


def read_mailbox(folder: Path | str) -> list[MailboxMessage]:
    """Every message in the Maildir `folder`, newest first (empty if no folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    maildir = mailbox.Maildir(folder, factory=None, create=False)
    messages: list[MailboxMessage] = []
    for key in list(maildir.keys()):
        try:
            delivered = maildir.get_message(key).get_date()
            raw = maildir.get_bytes(key)
        except (KeyError, FileNotFoundError):  # removed meanwhile
            continue
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        to = str(msg.get("To") or msg.get("X-RcptTo") or "")
        messages.append(
            MailboxMessage(
                id=key,
                date=datetime.fromtimestamp(delivered, tz=UTC),
                sender=str(msg.get("From") or msg.get("X-MailFrom") or ""),
                to=_addresses(to),
                subject=str(msg.get("Subject") or ""),
                text=_text_body(msg),
                html=_html_body(msg),
            )
        )
    messages.sort(key=lambda m: (m.date, m.id), reverse=True)
    return messages
