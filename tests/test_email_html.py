"""Every email goes out as multipart/alternative: the text part, and an HTML
part built from it (`educonnect.emails.html`). Read here as a person's mail app
gets them, from the real SMTP sink: the same French words in both, each link as
a button and in full, the ministry's name as text, no remote image."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from educonnect.emails import account, merge, provisioning
from educonnect.emails.html import MINISTRY
from educonnect.emails.sender import send_email
from tests.support.mail import LINK, Mailbox, html_links, html_words, text_words

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _address() -> str:
    return f"parent.{uuid.uuid4().hex[:8]}@example.fr"


async def _sent(mailbox: Mailbox, email):
    await send_email(email)
    [message] = await mailbox.wait_for(email.to, 1)
    return message


def _same_words(message) -> None:
    words = html_words(message)
    for line in message.text.split("\n"):
        folded = text_words(line)
        assert folded in words, f"{folded!r} missing from the HTML part of {message.subject!r}"


async def test_a_link_email_has_its_button_and_its_link_in_full(mailbox: Mailbox):
    url = f"http://127.0.0.1:8000/account/email/validation?jeton={uuid.uuid4().hex}"
    message = await _sent(
        mailbox,
        account.email_validation(
            to=_address(), identifier="c.martin7", url=url,
            expires_at=datetime.now(UTC) + timedelta(hours=72), first_validation=False,
            kind="new_address",
        ),
    )  # fmt: skip
    assert LINK.search(message.text).group(0) == url  # the text part is as before
    _same_words(message)
    links = html_links(message)
    assert (url, "Valider cette adresse") in links  # the button
    assert (url, url) in links  # the link in full
    assert MINISTRY in html_words(message)
    assert "<img" not in message.html.lower()
    assert 'name="viewport"' in message.html and "max-width:600px" in message.html


async def test_a_link_inside_a_sentence_keeps_its_words_and_gets_a_button(mailbox: Mailbox):
    url = "http://127.0.0.1:8000/"
    message = await _sent(
        mailbox,
        provisioning.account_notification(
            to=_address(), guardian_first_name="Camille", guardian_last_name="Martin",
            identifier="c.martin7", provisional_password="Xq7rT2pa",
            children=[("Léa", "Martin", "Collège Jean Moulin")], valid_until=date(2027, 3, 1),
            activation_url=url,
        ),
    )  # fmt: skip
    _same_words(message)
    links = html_links(message)
    assert (url, "Se connecter à EduConnect") in links and (url, url) in links
    # The children's list is a list; what was written as steps stays in order.
    assert "<ul" in message.html and "Léa Martin (Collège Jean Moulin)" in html_words(message)
    assert "<ol" in message.html  # "1. Rendez-vous...", "2. ...": numbered steps
    assert '<img src="http' not in message.html


async def test_an_email_without_link_has_no_button(mailbox: Mailbox):
    message = await _sent(
        mailbox,
        merge.to_other(to=_address(), kept_identifier="c.martin7", other_identifier="c.martin8"),
    )
    _same_words(message)
    assert html_links(message) == []
    assert MINISTRY in html_words(message)
    assert message.html.count("<p") >= 3  # paragraphs, as written
