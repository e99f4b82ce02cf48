"""Which failures of `send_sms` prove that the gateway did not take the SMS
(so the daily cap gives the try back) and which prove nothing."""

from __future__ import annotations

import httpx

from educonnect.sms import SmsGatewayError, not_taken

REQUEST = httpx.Request("POST", "http://gateway.test/messages")


def test_a_refusal_or_no_connection_means_not_taken():
    refused = httpx.HTTPStatusError(
        "500", request=REQUEST, response=httpx.Response(500, request=REQUEST)
    )
    assert not_taken(refused)
    assert not_taken(httpx.ConnectError("refused", request=REQUEST))
    assert not_taken(httpx.ConnectTimeout("no answer to connect", request=REQUEST))


def test_a_failure_after_the_request_went_out_may_have_sent():
    assert not not_taken(httpx.ReadTimeout("no answer", request=REQUEST))
    assert not not_taken(httpx.RemoteProtocolError("connection lost", request=REQUEST))
    assert not not_taken(SmsGatewayError("an answer without a message id"))
