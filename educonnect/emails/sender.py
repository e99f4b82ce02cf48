"""Send an email through SMTP (`SMTP_URL`; the dev stack's sink by default)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from urllib.parse import unquote, urlparse

import aiosmtplib

from educonnect.emails import Email
from educonnect.settings import get_settings


def build_message(email: Email, *, from_address: str | None = None) -> EmailMessage:
    settings = get_settings()
    _, address = parseaddr(from_address or settings.mail_from)
    msg = EmailMessage()
    msg["From"] = formataddr((email.sender_name, address))
    msg["To"] = email.to
    msg["Subject"] = email.subject
    msg["Message-ID"] = make_msgid(domain=address.split("@")[-1])
    msg.set_content(email.text)
    return msg


async def send_email(email: Email) -> None:
    url = urlparse(get_settings().smtp_url)
    use_tls = url.scheme == "smtps"
    await aiosmtplib.send(
        build_message(email),
        hostname=url.hostname or "127.0.0.1",
        port=url.port or (465 if use_tls else 25),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=use_tls,
        start_tls=True if url.scheme == "smtp+starttls" else False,
        timeout=20,
    )
