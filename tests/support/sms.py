"""Reading what the real HTTP SMS gateway received (its outbox file)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from educonnect.devtools.sms_gateway import read_outbox

CODE = re.compile(r"\b(\d{6})\b")


class SmsOutbox:
    def __init__(self, path: Path | str):
        self.path = Path(path)

    def to(self, number: str) -> list[dict]:
        """Messages to `number` (E.164), oldest first."""
        return list(reversed([m for m in read_outbox(self.path) if m["to"] == number]))

    async def wait_for(self, number: str, count: int, timeout: float = 15) -> list[dict]:
        """Wait (in real time) until `number` has received `count` messages."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            messages = self.to(number)
            if len(messages) >= count or loop.time() > deadline:
                return messages
            await asyncio.sleep(0.05)


def code_in(message: dict) -> str:
    found = CODE.search(message["text"])
    assert found, f"no code in {message['text']!r}"
    return found.group(1)
