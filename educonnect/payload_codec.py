"""Personal data encrypted in Temporal (DESIGN §9): a payload codec, AES-256-GCM.

Every payload a client or worker of the project hands to Temporal (inputs,
results, signals, updates, queries, memos, the Web UI summaries, failure
messages) is encrypted with the first key of the key ring; its id travels in
the payload's metadata, so that any key of the ring decrypts what it
encrypted: keys rotate by putting a new key first and keeping the old ones
until no running workflow holds their payloads.

The key ring is the setting TEMPORAL_PAYLOAD_KEYS: `id:key[,id:key...]`, each
key 32 bytes in URL-safe base64 (`python -m educonnect.payload_codec new-key ID`
prints one). Payloads written before the codec (plain JSON) decode as they are,
so the processes that were running go on.

Search attributes are not payloads of the codec: Temporal indexes them in clear
(`educonnect.search_attributes` keeps ids, steps and UAIs only).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
# Where the API serves the codec endpoint (api/routers/temporal_codec.py).
CODEC_PATH = "/staff/temporal-codec"  # under /staff, the staff session cookie's path
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12


class PayloadKeysError(ValueError):
    """The key ring is missing, malformed, or lacks the key a payload names."""


@dataclass(frozen=True)
class PayloadKey:
    id: str
    secret: bytes

    def __repr__(self) -> str:  # never print the key itself
        return f"PayloadKey(id={self.id!r})"


def parse_key_ring(text: str) -> list[PayloadKey]:
    """`id:base64key[,id:base64key...]` -> the keys, first one encrypting."""
    keys: list[PayloadKey] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        if not sep or not key_id.strip():
            raise PayloadKeysError(
                "TEMPORAL_PAYLOAD_KEYS: each key is written id:key (URL-safe base64 of 32 bytes)"
            )
        try:
            text = encoded.strip()
            secret = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError) as err:
            raise PayloadKeysError(
                f"TEMPORAL_PAYLOAD_KEYS: key {key_id.strip()!r} is not base64"
            ) from err
        if len(secret) != KEY_BYTES:
            raise PayloadKeysError(
                f"TEMPORAL_PAYLOAD_KEYS: key {key_id.strip()!r} is {len(secret)} bytes, not {KEY_BYTES}"
            )
        keys.append(PayloadKey(key_id.strip(), secret))
    if not keys:
        raise PayloadKeysError(
            "TEMPORAL_PAYLOAD_KEYS is not set: personal data in Temporal is encrypted with it "
            "(`python -m educonnect.payload_codec new-key ID` prints a key)"
        )
    if len({key.id for key in keys}) != len(keys):
        raise PayloadKeysError("TEMPORAL_PAYLOAD_KEYS: two keys have the same id")
    return keys


def new_key_entry(key_id: str) -> str:
    """A fresh key ring entry `id:key`, for the setting."""
    secret = base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode().rstrip("=")
    return f"{key_id}:{secret}"


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over the serialized payload; the key id in the metadata and
    bound to the ciphertext as associated data."""

    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise PayloadKeysError("an encryption codec needs at least one key")
        self._encrypting = keys[0]
        self._ciphers = {key.id: AESGCM(key.secret) for key in keys}

    @property
    def encrypting_key_id(self) -> str:
        return self._encrypting.id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self._encrypting.id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before the codec (plain JSON): as it is
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeysError(
                f"payload encrypted with key {key_id!r}, which TEMPORAL_PAYLOAD_KEYS does not hold"
            )
        try:
            plain = cipher.decrypt(
                payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], key_id.encode()
            )
        except InvalidTag as err:
            raise PayloadKeysError(
                f"payload under key {key_id!r} does not decrypt (altered, or another key)"
            ) from err
        return Payload.FromString(plain)


def is_encrypted(payloads: Iterable[Payload]) -> bool:
    return all(p.metadata.get("encoding") == ENCODING for p in payloads)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - manual use
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "new-key":
        print("usage: python -m educonnect.payload_codec new-key KEY_ID", file=sys.stderr)
        return 2
    print(new_key_entry(args[1]))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
