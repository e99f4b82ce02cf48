"""A gate in front of the real SMS gateway, on loopback: it forwards every
message (the SMS reaches the dev gateway's outbox as usual) unless told to
fail, answering 500 without forwarding (a gateway down), or to hold the
messages to some numbers unanswered until `release()`, then refuse them
with a 500 (a gateway gone slow, then failing: nothing held is ever sent).
The worker under test is pointed at `url` instead of the gateway's."""

from __future__ import annotations

import asyncio
import json

import httpx


class SmsGate:
    def __init__(self, gateway_url: str) -> None:
        self._gateway_url = gateway_url.rstrip("/")
        self._server: asyncio.Server | None = None
        self._released = asyncio.Event()
        self._holding: set[str] = set()
        self.failing = False
        self.refused = 0  # messages answered 500 (failing or held)
        self.held: list[str] = []  # numbers of the messages held
        self.forwarded: list[str] = []  # numbers of the messages forwarded

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> SmsGate:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def hold(self, *numbers: str) -> None:
        """Hold the messages to these numbers (E.164) until `release()`."""
        self._released.clear()
        self._holding = set(numbers)

    def release(self) -> None:
        """Refuse every held message; forward the later ones."""
        self._holding = set()
        self._released.set()

    async def wait_held(self, count: int, timeout: float) -> bool:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.held) < count:
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, v in (h.split(":", 1) for h in lines[1:] if ":" in h)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            to = json.loads(body).get("to") if body else None
            if to in self._holding:
                self.held.append(to)
                await self._released.wait()
                status, answer = 500, b'{"error": "held, then refused"}'
                self.refused += 1
            elif self.failing:
                status, answer = 500, b'{"error": "gateway down"}'
                self.refused += 1
            else:
                forwarded = {
                    k: v
                    for k, v in headers.items()
                    if k in ("authorization", "idempotency-key", "content-type")
                }
                async with httpx.AsyncClient(timeout=10) as client:
                    response = await client.request(
                        method, self._gateway_url + path, content=body, headers=forwarded
                    )
                status, answer = response.status_code, response.content
                if to is not None:
                    self.forwarded.append(to)
            writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n%s" % (status, len(answer), answer))  # fmt: skip
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker died while waiting
        finally:
            writer.close()
