"""A bare HTTP server on loopback standing for an SMS gateway that takes each
message but answers in a shape of its own (some echo the message back, some
answer without a message id), with the settings pointed at it meanwhile."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from tests.support.settings_env import settings_env


@asynccontextmanager
async def odd_gateway(answer: Callable[[dict], tuple[bytes, bytes]]) -> AsyncIterator[list[dict]]:
    """Yield the list of the messages received; `answer(message)` gives the
    status line's code and reason (e.g. b"200 OK") and the JSON body."""
    received: list[dict] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        message = json.loads(await reader.readexactly(length))
        received.append(message)
        status, body = answer(message)
        writer.write(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (status, len(body), body))  # fmt: skip
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        with settings_env(SMS_GATEWAY_URL=f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"):
            yield received
    finally:
        server.close()
        await server.wait_closed()
