"""The SMS client (`educonnect.sms`) against the dev SMS gateway, over real HTTP
on loopback."""

from __future__ import annotations

import json
from contextlib import ExitStack

import httpx
import pytest

from educonnect.devtools.sms_gateway import SmsGatewayServer, read_outbox
from educonnect.sms import send_sms
from tests.support.odd_gateway import odd_gateway
from tests.support.settings_env import settings_env

TOKEN = "test-gateway-token"


@pytest.fixture
def gateway_env():
    """Point the client at a gateway (`gateway_env(url, token)`); restored afterwards."""
    with ExitStack() as pointed:

        def point_at(url: str, token: str = TOKEN) -> None:
            pointed.enter_context(settings_env(SMS_GATEWAY_URL=url, SMS_GATEWAY_TOKEN=token))

        yield point_at


@pytest.mark.asyncio(loop_scope="session")
async def test_send_sms_through_the_gateway(tmp_path, gateway_env):
    outbox = tmp_path / "sms-outbox.jsonl"
    gateway = await SmsGatewayServer(outbox, TOKEN, port=0).start()
    try:
        assert gateway.port != 0
        gateway_env(gateway.url)

        first = await send_sms("+33612345678", "Votre code EduConnect : 123456")
        second = await send_sms("+33798765432", "Votre mot de passe a été modifié.")
        assert first and second and first != second

        messages = read_outbox(outbox)
        assert [m["id"] for m in messages] == [second, first]  # newest first
        assert messages[1]["to"] == "+33612345678"
        assert messages[1]["text"] == "Votre code EduConnect : 123456"
        # One JSON object per line, accents kept as written.
        lines = outbox.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 2 and "été" in lines[1]
        assert json.loads(lines[0])["id"] == first

        async with httpx.AsyncClient(base_url=gateway.url) as http:
            listed = await http.get("/messages", headers={"Authorization": f"Bearer {TOKEN}"})
            assert listed.status_code == 200
            assert [m["id"] for m in listed.json()] == [second, first]
    finally:
        await gateway.stop()


@pytest.mark.asyncio(loop_scope="session")
async def test_idempotency_key_sends_once(tmp_path, gateway_env):
    outbox = tmp_path / "sms-outbox.jsonl"
    gateway = await SmsGatewayServer(outbox, TOKEN, port=0).start()
    try:
        gateway_env(gateway.url)
        a = await send_sms("+33612345678", "Code : 111111", idempotency_key="wf-1/code-1")
        b = await send_sms("+33612345678", "Code : 111111", idempotency_key="wf-1/code-1")
        assert a == b
        assert len(read_outbox(outbox)) == 1
    finally:
        await gateway.stop()


@pytest.mark.asyncio(loop_scope="session")
async def test_bad_token_and_bad_body_are_refused(tmp_path, gateway_env):
    outbox = tmp_path / "sms-outbox.jsonl"
    gateway = await SmsGatewayServer(outbox, TOKEN, port=0).start()
    try:
        gateway_env(gateway.url, token="wrong-token")
        with pytest.raises(httpx.HTTPStatusError) as caught:
            await send_sms("+33612345678", "Bonjour")
        assert caught.value.response.status_code == 401

        async with httpx.AsyncClient(base_url=gateway.url) as http:
            no_token = await http.post("/messages", json={"to": "+33612345678", "text": "x"})
            assert no_token.status_code == 401
            listing = await http.get("/messages", headers={"Authorization": "Bearer nope"})
            assert listing.status_code == 401
            good = {"Authorization": f"Bearer {TOKEN}"}
            for body in (
                {"to": "0612345678", "text": "pas au format E.164"},
                {"to": "+33612345678", "text": ""},
                {"to": "+33612345678"},
                {"to": "+33612345678", "text": "x", "extra": 1},
            ):
                response = await http.post("/messages", json=body, headers=good)
                assert response.status_code == 422, body
        assert read_outbox(outbox) == []
    finally:
        await gateway.stop()


def test_read_outbox_missing_file(tmp_path):
    assert read_outbox(tmp_path / "absent.jsonl") == []


@pytest.mark.asyncio(loop_scope="session")
async def test_an_unexpected_answer_never_puts_the_text_in_the_error():
    """A gateway that accepts but answers in its own shape, echoing the message
    (as some do): the error (which becomes the activity's failure, in Temporal)
    must not carry the SMS text, hence the code."""
    from educonnect.sms import SmsGatewayError

    def echo(sent: dict) -> tuple[bytes, bytes]:
        return b"200 OK", json.dumps(
            {"sid": "SM1", "to": sent["to"], "body": sent["text"]}
        ).encode()

    async with odd_gateway(echo) as received:
        with pytest.raises(SmsGatewayError) as caught:
            await send_sms("+33612345678", "Votre code EduConnect : 482913")
    assert len(received) == 1
    error, texts = caught.value, []
    while error is not None:
        texts.append(str(error))
        error = error.__cause__
    assert not any("482913" in text for text in texts), texts
    assert "HTTP 200" in str(caught.value)
