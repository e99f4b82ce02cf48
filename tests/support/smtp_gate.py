"""Stopping a sender at a known point: the SMTP sink takes the first messages
to a domain, then holds every later one unanswered (like a server gone slow)
until the test lets them go, refused with a temporary failure ("451"), so
that nothing held is ever stored."""

from __future__ import annotations

import asyncio
import threading

from aiosmtpd.smtp import Envelope

from educonnect.devtools.smtp_sink import SmtpSink

REFUSAL = "451 4.3.0 Service momentanément indisponible, réessayez plus tard"


class HoldAfter:
    """Gate of the sink: messages to `domain` number 1..`taken` are stored,
    the following ones wait in `handle_DATA` until `release()`, then are
    refused ("451"), or stored when `refuse_held` is False (a server that was
    only slow: the sender never retries)."""

    def __init__(
        self, sink: SmtpSink, domain: str, taken: int, *, refuse_held: bool = True
    ) -> None:
        self._refuse_held = refuse_held
        self._sink = sink
        self._needle = "@" + domain.lower()
        self._taken = taken
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.passed = 0  # messages to the domain let through (and stored)
        self.held = 0  # messages to the domain held (never stored)
        self.held_to: list[str] = []  # their recipients
        self.holding = threading.Event()  # set once the first message is held

    def __enter__(self) -> HoldAfter:
        self._sink.set_gate(self._gate)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Refuse (or store) every held message; let every later one through."""
        self._sink.set_gate(None)
        self._released.set()

    async def wait_holding(self, timeout: float) -> bool:
        return await asyncio.to_thread(self.holding.wait, timeout)

    async def _gate(self, envelope: Envelope) -> str | None:
        if self._released.is_set() or not any(self._needle in r.lower() for r in envelope.rcpt_tos):
            return None
        with self._lock:
            if self.passed < self._taken:
                self.passed += 1
                return None
            self.held += 1
            self.held_to += envelope.rcpt_tos
            self.holding.set()
        # The sink's event loop keeps serving other connections meanwhile.
        await asyncio.get_running_loop().run_in_executor(None, self._released.wait)
        return REFUSAL if self._refuse_held else None


class Down:
    """Gate of the sink: while entered, every message to `domain` is refused at
    once with a temporary failure ("451"), as by a mail server that is down
    for its users; `refused` counts them."""

    def __init__(self, sink: SmtpSink, domain: str) -> None:
        self._sink = sink
        self._needle = "@" + domain.lower()
        self.refused = 0

    def __enter__(self) -> Down:
        self._sink.set_gate(self._gate)
        return self

    def __exit__(self, *exc: object) -> None:
        self._sink.set_gate(None)

    async def _gate(self, envelope: Envelope) -> str | None:
        if not any(self._needle in r.lower() for r in envelope.rcpt_tos):
            return None
        self.refused += 1
        return REFUSAL


class HoldReply:
    """Hook of the sink: a message to `address` is stored (the test can read
    it and click its link), then its sender waits for the "250" until
    `release()`: the email is out, but the activity that sent it has not
    completed yet, as when a family clicks before the worker has seen it."""

    def __init__(self, sink: SmtpSink, address: str) -> None:
        self._sink = sink
        self._address = address.lower()
        self._released = threading.Event()
        self.stored = threading.Event()  # set once a message to the address is stored and held

    def __enter__(self) -> HoldReply:
        self._sink.set_on_stored(self._hold)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        self._sink.set_on_stored(None)
        self._released.set()

    async def wait_stored(self, timeout: float) -> bool:
        return await asyncio.to_thread(self.stored.wait, timeout)

    async def _hold(self, envelope: Envelope) -> None:
        if self._released.is_set() or not any(
            self._address == r.lower() for r in envelope.rcpt_tos
        ):
            return
        self.stored.set()
        await asyncio.get_running_loop().run_in_executor(None, self._released.wait)
