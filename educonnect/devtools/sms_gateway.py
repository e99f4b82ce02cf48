"""SMS gateway of the development stack: a small real HTTP service on loopback,
the far side of the network boundary that `educonnect.sms` talks to.

Protocol (what a production gateway must speak too):

    POST /messages
        Authorization: Bearer <token>
        Idempotency-Key: <key>            (optional; same key -> same message)
        {"to": "+33612345678", "text": "Votre code EduConnect : 123456"}
      -> 202 {"id": "<message id>"}     accepted (200 with the same id on a replay)
      -> 401                            missing or wrong token
      -> 422                            invalid body (number not E.164, empty text...)
      Any answer but a 2xx means the message was not taken (nothing is sent).

    GET /messages
        Authorization: Bearer <token>
      -> 200 [{"id", "to", "text", "received_at", "idempotency_key"}, ...] newest first

The dev gateway "delivers" by appending one JSON line per message to an outbox
file, which the dev SMS page (`GET /dev/sms`) shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"


class SmsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(pattern=E164_PATTERN, description="Numéro au format E.164, ex. +33612345678")
    text: str = Field(min_length=1, max_length=1600, description="Texte du SMS")


class SmsAccepted(BaseModel):
    id: str


def read_outbox(path: Path | str) -> list[dict[str, Any]]:
    """Messages of the outbox file, newest first (empty if there is no file)."""
    path = Path(path)
    if not path.exists():
        return []
    messages = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                messages.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a crash: skip it
                continue
    messages.reverse()
    return messages


def create_sms_gateway_app(outbox_path: Path | str, token: str) -> FastAPI:
    outbox = Path(outbox_path)
    outbox.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    bearer = HTTPBearer(auto_error=False)

    app = FastAPI(
        title="Passerelle SMS de développement",
        description=(
            "Passerelle SMS locale : les messages sont conservés dans un fichier "
            "au lieu d'être envoyés. Authentification par jeton (Bearer)."
        ),
        version="1.0",
    )

    def check_token(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if (
            creds is None
            or creds.scheme.lower() != "bearer"
            or not secrets.compare_digest(creds.credentials.encode(), token.encode())
        ):
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="Jeton d'accès absent ou invalide.",
                headers={"WWW-Authenticate": "Bearer"},
            )

    @app.post(
        "/messages",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=SmsAccepted,
        dependencies=[Depends(check_token)],
        summary="Envoyer un SMS",
    )
    def send_message(
        body: SmsIn,
        idempotency_key: str | None = Header(default=None, max_length=200),
    ) -> Any:
        with lock:
            if idempotency_key:
                for previous in read_outbox(outbox):
                    if previous.get("idempotency_key") == idempotency_key:
                        return JSONResponse({"id": previous["id"]}, status_code=status.HTTP_200_OK)
            record: dict[str, Any] = {
                "id": uuid.uuid4().hex,
                "to": body.to,
                "text": body.text,
                "received_at": datetime.now(UTC).isoformat(),
                "idempotency_key": idempotency_key,
            }
            with outbox.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        return SmsAccepted(id=record["id"])

    @app.get("/messages", dependencies=[Depends(check_token)], summary="Lister les SMS envoyés")
    def list_messages() -> list[dict[str, Any]]:
        return read_outbox(outbox)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (the stand-in gateway of docker-compose):
    outbox `<DATA_DIR>/sms-outbox.jsonl`, token SMS_GATEWAY_TOKEN (settings)."""
    from educonnect.settings import get_settings

    settings = get_settings()
    return create_sms_gateway_app(
        settings.data_dir / "sms-outbox.jsonl", settings.sms_gateway_token
    )


class SmsGatewayServer:
    """Runs the gateway with uvicorn inside the current event loop (a task).

    `port=0` picks a free port; `.port` and `.url` give the real one once started.
    """

    def __init__(
        self, outbox_path: Path | str, token: str, host: str = "127.0.0.1", port: int = 8025
    ):
        self.outbox_path = Path(outbox_path)
        self.token = token
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, timeout: float = 10.0) -> SmsGatewayServer:
        class _Server(uvicorn.Server):
            # The owner of the event loop handles Ctrl-C / SIGTERM, not uvicorn.
            def capture_signals(self):
                return contextlib.nullcontext()

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_sms_gateway_app(self.outbox_path, self.token),
            log_level="warning",
            access_log=False,
            log_config=None,
            lifespan="off",
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="sms-gateway")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._server.started:
            if self._task.done():
                sock.close()
                self._task.result()  # raises the server's error
                raise RuntimeError("SMS gateway stopped during start-up")
            if loop.time() > deadline:
                self._socket = sock
                await self.stop()
                raise TimeoutError("SMS gateway did not start")
            await asyncio.sleep(0.05)
        self._socket = sock
        return self

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        assert self._task is not None  # started with the server
        try:
            await asyncio.wait_for(self._task, timeout=10)
        except TimeoutError:
            self._task.cancel()
        finally:
            self._server = None
            self._task = None
            if self._socket is not None:
                self._socket.close()
                self._socket = None
