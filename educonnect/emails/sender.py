"""Send an email through SMTP (`SMTP_URL`; the dev stack's sink by default):
its text part, and the HTML part built from that text (`educonnect.emails.html`)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from urllib.parse import unquote, urlparse

import aiosmtplib

from educonnect import metrics
from educonnect.emails import Email
from educonnect.emails.html import html_of
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
    msg.add_alternative(html_of(email), subtype="html")  # multipart/alternative: text, then HTML
    return msg


def _smtp_options() -> dict:
    """How to reach the SMTP server of `SMTP_URL` (smtp://, smtps://, smtp+starttls://)."""
    url = urlparse(get_settings().smtp_url)
    use_tls = url.scheme == "smtps"
    return dict(
        hostname=url.hostname or "127.0.0.1",
        port=url.port or (465 if use_tls else 25),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=use_tls,
        start_tls=True if url.scheme == "smtp+starttls" else False,
    )


async def send_email(email: Email) -> None:
    with metrics.counting(metrics.EMAILS):
        await aiosmtplib.send(build_message(email), **_smtp_options(), timeout=20)


async def check_smtp(timeout: float) -> None:
    """Connect (and sign in, if the URL says so) to the SMTP server, then
    leave: raises if it does not answer in time. For readiness checks."""
    options = _smtp_options()
    username, password = options.pop("username"), options.pop("password")
    smtp = aiosmtplib.SMTP(**options, timeout=timeout)
    await smtp.connect()
    try:
        if username:
            await smtp.login(username, password or "")
        await smtp.noop()
    finally:
        smtp.close()
