"""The tests' key ring for Temporal payloads (TEMPORAL_PAYLOAD_KEYS): fixed, so
that encrypted histories recorded by a test replay in later runs. A test key,
protecting synthetic families only."""

from __future__ import annotations

import base64

TEST_KEY_ID = "test-2026"
TEST_KEY = bytes(range(32))
TEST_PAYLOAD_KEYS = f"{TEST_KEY_ID}:{base64.urlsafe_b64encode(TEST_KEY).decode()}"
