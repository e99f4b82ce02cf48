"""The dev stack's Temporal payload key (educonnect/devtools/stack.py): generated
once in the data folder, readable by nobody else, the same on every start
(the histories of earlier runs are encrypted with it), and a valid ring."""

from __future__ import annotations

from educonnect.devtools.stack import development_payload_keys
from educonnect.payload_codec import parse_key_ring


def test_the_development_key_is_generated_once_and_kept(tmp_path):
    first = development_payload_keys(tmp_path)
    assert development_payload_keys(tmp_path) == first
    [key] = parse_key_ring(first)
    assert key.id == "dev" and len(key.secret) == 32
    assert (tmp_path / "temporal-payload-keys").stat().st_mode & 0o077 == 0
    other = tmp_path / "other"
    other.mkdir()
    assert development_payload_keys(other) != first  # random, not a fixed development key
