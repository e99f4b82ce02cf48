"""The dev mailbox and SMS pages show what the sinks received, escaped, and
exist only when the development stack turns them on."""

from __future__ import annotations

import httpx
import pytest

from educonnect.devtools.smtp_sink import SmtpSink
from educonnect.emails import Email
from educonnect.emails.sender import send_email
from educonnect.settings import get_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def dev_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EDUCONNECT_DEV_PAGES", "1")
    get_settings.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    get_settings.cache_clear()


async def test_mailbox_page_shows_received_mail_escaped(dev_data_dir, monkeypatch):
    from api.app import create_app

    with SmtpSink(dev_data_dir / "mailbox", port=0) as sink:
        monkeypatch.setenv("SMTP_URL", sink.url)
        get_settings.cache_clear()
        await send_email(
            Email(
                to="parent@example.fr",
                subject="Objet <b>test</b>",
                text="Lien : http://x.test/a?jeton=abc",
            )
        )
    (dev_data_dir / "sms-outbox.jsonl").write_text(
        '{"id": "1", "to": "+33612345678", "text": "Votre code EduConnect est 123456.", "received_at": "2026-11-30T10:00:00+00:00"}\n'
    )
    app = create_app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        page = await http.get("/dev/mailbox")
        assert page.status_code == 200
        assert "Objet &lt;b&gt;test&lt;/b&gt;" in page.text and "<b>test</b>" not in page.text
        assert '<a href="http://x.test/a?jeton=abc"' in page.text
        listing = (await http.get("/dev/mailbox.json")).json()
        assert listing[0]["to"] == "parent@example.fr"
        sms = (await http.get("/dev/sms.json")).json()
        assert sms[0]["text"].startswith("Votre code EduConnect")


async def test_dev_pages_are_off_by_default(monkeypatch):
    monkeypatch.delenv("EDUCONNECT_DEV_PAGES", raising=False)
    get_settings.cache_clear()
    from api.app import create_app

    app = create_app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        assert (await http.get("/dev/mailbox")).status_code == 404
