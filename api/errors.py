"""Every refusal reaches the person as `{"code", "message", "details"}` with a
French message and a stable code; nothing unexpected escapes as a bare 500."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import cast

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import Scope
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.pages import page
from educonnect.errors import HTTP_STATUS, MESSAGES, DomainError, ErrorCode
from educonnect.sign_in_limits import SignInRefused

log = logging.getLogger("educonnect.api")


# A service out of reach (PostgreSQL stopped or restarting, a connection
# dropped, a socket gone): an outage, answered 503 like a refusal.
OUT_OF_REACH: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict] = []


# Any operation may refuse (no session, another site, a body too large, a limit
# reached, bad input...) and answer 503 while a service it needs is out of reach:
# declared once, for the whole description (`create_app`); a browser's route
# (the pages of emailed links) answers them as a French page.
_REFUSALS = (
    ("4XX", "Refus : un code stable et un message en français."),
    (503, "Service momentanément indisponible : rien n'a été fait, réessayez."),
)
REFUSAL_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorBody, "description": description} for status, description in _REFUSALS
}
PAGE_REFUSAL_RESPONSES: dict[int | str, dict] = {
    status: {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}
    for status, description in _REFUSALS
}

# French wording for pydantic's validation error types.
FIELD_MESSAGES = {
    "missing": "Ce champ est obligatoire.",
    "string_too_short": "Ce champ est trop court.",
    "string_too_long": "Ce champ est trop long.",
    "string_type": "Ce champ doit être un texte.",
    "date_from_datetime_parsing": "Date invalide : format attendu AAAA-MM-JJ.",
    "date_parsing": "Date invalide : format attendu AAAA-MM-JJ.",
    "date_type": "Date invalide : format attendu AAAA-MM-JJ.",
    "json_invalid": "Le contenu envoyé n'est pas un JSON valide.",
    "model_attributes_type": "Le contenu envoyé doit être un objet JSON.",
    "dict_type": "Le contenu envoyé doit être un objet JSON.",
    "extra_forbidden": "Ce champ n'est pas attendu.",
}


def error_response(
    code: ErrorCode, details: list[dict] | None = None, message: str | None = None
) -> JSONResponse:
    body = ErrorBody(code=code.value, message=message or MESSAGES[code], details=details or [])
    return JSONResponse(status_code=HTTP_STATUS[code], content=body.model_dump())


def answers_with_pages(scope: Scope) -> bool:
    """Whether the request goes to a route a browser opens (its answers are
    pages); known before routing too (the guards at the door ask)."""
    route = scope.get("route")
    if route is None:
        route = next(
            (r for r in _routes(scope.get("app")) if r.matches(scope)[0] == Match.FULL), None
        )
    response_class = getattr(route, "response_class", None)
    return isinstance(response_class, type) and issubclass(response_class, HTMLResponse)


def _routes(app: object) -> Iterator[BaseRoute]:
    """The app's routes, those of the routers it includes too."""
    pending = list(getattr(getattr(app, "router", None), "routes", ()))
    while pending:
        route = pending.pop(0)
        included = getattr(route, "original_router", None)  # FastAPI's included router
        if included is not None:
            pending[:0] = included.routes
        else:
            yield route


def refusal_page(code: ErrorCode, message: str | None = None) -> HTMLResponse:
    """A refusal as a French page (its code in `data-code`)."""
    title = (
        "Service momentanément indisponible"
        if code == ErrorCode.SERVICE_UNAVAILABLE
        else "Demande refusée"
    )
    return page(title, message or MESSAGES[code], status_code=HTTP_STATUS[code], code=code.value)


def refusal_response(
    request: Request, code: ErrorCode, details: list[dict] | None = None, message: str | None = None
):
    """The refusal as the route speaks: a French page for a browser's route, JSON otherwise."""
    return refusal_at(request.scope, code, details, message)


def refusal_at(
    scope: Scope, code: ErrorCode, details: list[dict] | None = None, message: str | None = None
) -> Response:
    """`refusal_response` for the ASGI middlewares, which run before routing."""
    if answers_with_pages(scope):
        return refusal_page(code, message)
    return error_response(code, details, message)


def update_failure_code(err: WorkflowUpdateFailedError) -> ErrorCode:
    """The stable code a workflow gave when it refused an update."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type in ErrorCode._value2member_map_:
        return cast(ErrorCode, ErrorCode._value2member_map_[cause.type])
    return ErrorCode.SERVICE_UNAVAILABLE


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        response = refusal_response(request, exc.code, exc.details, exc.message)
        if (
            isinstance(exc, SignInRefused) and exc.retry_after is not None
        ):  # sign-in limits: when to try again
            response.headers["Retry-After"] = str(math.ceil(exc.retry_after.total_seconds()))
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        details = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ())[1:]) or "body",
                "message": FIELD_MESSAGES.get(err.get("type", ""), "Valeur invalide."),
            }
            for err in exc.errors()
        ]
        return refusal_response(request, ErrorCode.INVALID_INPUT, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        # The framework's own refusals (unknown address, wrong method...), in French.
        code = {
            404: ErrorCode.PAGE_NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED, 413: ErrorCode.REQUEST_TOO_LARGE,
        }.get(exc.status_code)  # fmt: skip
        if code is None and exc.status_code >= 500:
            code = ErrorCode.SERVICE_UNAVAILABLE
        response = error_response(code or ErrorCode.REQUEST_REFUSED)
        if code is None:
            response.status_code = exc.status_code
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(WorkflowUpdateFailedError)
    async def _update_failed(request: Request, exc: WorkflowUpdateFailedError):
        return refusal_response(request, update_failure_code(exc))

    @app.exception_handler(RPCError)
    async def _temporal_down(request: Request, exc: RPCError):
        log.warning("Temporal call failed: %s", exc)
        return refusal_response(request, ErrorCode.SERVICE_UNAVAILABLE)

    async def _out_of_reach(request: Request, exc: Exception):
        # Handled here, not as an unexpected error: the framework re-raises
        # those to the server, which then drops the connection after the 503.
        log.warning("%s %s: a service is out of reach: %r", request.method, request.url.path, exc)
        return refusal_response(request, ErrorCode.SERVICE_UNAVAILABLE)

    for kind in OUT_OF_REACH:
        app.add_exception_handler(kind, _out_of_reach)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return refusal_response(request, ErrorCode.SERVICE_UNAVAILABLE)
