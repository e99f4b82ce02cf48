"""The payload codec (DESIGN §9): AES-256-GCM, the key id in the metadata, a key
ring whose first key encrypts and every key decrypts; payloads written before
the codec decode as they are."""

from __future__ import annotations

import json

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from educonnect.payload_codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadKeysError,
    new_key_entry,
    parse_key_ring,
)
from educonnect.settings import Settings
from educonnect.temporal import data_converter

PERSONAL = {"identifier": "a.allard", "email": "alix.allard@example.org", "birthdate": "2014-03-09"}


def _plain(value) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def _converter(keys: str):
    return data_converter(Settings(_env_file=None, temporal_payload_keys=keys))


async def test_payloads_are_encrypted_with_the_key_id_and_decode_back():
    keys = new_key_entry("k1")
    converter = _converter(keys)
    encoded = await converter.encode([PERSONAL])
    assert len(encoded) == 1
    assert encoded[0].metadata["encoding"] == ENCODING
    assert encoded[0].metadata[KEY_ID_METADATA] == b"k1"
    raw = encoded[0].SerializeToString()
    for value in PERSONAL.values():
        assert value.encode() not in raw
    assert await converter.decode(encoded, [dict]) == [PERSONAL]


async def test_key_rotation_old_payloads_decode_new_ones_use_the_new_key():
    key_a, key_b = new_key_entry("a"), new_key_entry("b")
    with_a = await _converter(key_a).encode([PERSONAL])
    rotated = _converter(f"{key_b},{key_a}")  # B added first: B encrypts, A still decrypts
    assert await rotated.decode(with_a, [dict]) == [PERSONAL]
    with_b = await rotated.encode([PERSONAL])
    assert with_b[0].metadata[KEY_ID_METADATA] == b"b"
    # Once A is gone, what B wrote still decodes; what A wrote is refused by name.
    only_b = _converter(key_b)
    assert await only_b.decode(with_b, [dict]) == [PERSONAL]
    with pytest.raises(PayloadKeysError, match="'a'"):
        await only_b.decode(with_a, [dict])


async def test_plain_payloads_written_before_the_codec_still_decode():
    converter = _converter(new_key_entry("k1"))
    assert await converter.decode([_plain(PERSONAL)], [dict]) == [PERSONAL]


async def test_an_altered_payload_or_another_key_under_the_same_id_is_refused():
    encoded = await _converter(new_key_entry("k1")).encode([PERSONAL])
    with pytest.raises(PayloadKeysError, match="does not decrypt"):
        await _converter(new_key_entry("k1")).decode(encoded, [dict])
    tampered = Payload()
    tampered.CopyFrom(encoded[0])
    tampered.metadata[KEY_ID_METADATA] = b"k2"
    codec = EncryptionCodec(parse_key_ring(f"{new_key_entry('k2')}"))
    with pytest.raises(PayloadKeysError):
        await codec.decode([tampered])


async def test_failure_messages_travel_encrypted():
    converter = _converter(new_key_entry("k1"))
    failure = Failure()
    await converter.encode_failure(ApplicationError("alix.allard@example.org inconnu"), failure)
    assert b"alix.allard" not in failure.SerializeToString()
    assert failure.message == "Encoded failure"
    decoded = await converter.decode_failure(failure)
    assert str(decoded) == "alix.allard@example.org inconnu"


@pytest.mark.parametrize(
    "text, says",
    [
        ("", "not set"),
        ("k1", "id:key"),
        ("k1:c2hvcnQ", "5 bytes, not 32"),
        ("k1:!!!", "base64"),
        (f"{new_key_entry('k1')},{new_key_entry('k1')}", "same id"),
    ],
    ids=["empty", "no-key", "short-key", "not-base64", "same-id"],  # stable across workers
)
def test_a_wrong_key_ring_is_refused_with_what_is_wrong(text, says):
    with pytest.raises(PayloadKeysError, match=says):
        parse_key_ring(text)
