"""Serve the API: `python -m api [--host HOST] [--port PORT]` (defaults: the
settings API_HOST and API_PORT).

The one way the API is run: by the dev stack, the end-to-end tests and the
container image. uvicorn's own handling of proxy headers is off: which address
a request comes from is the application's decision (FORWARDED_FOR_TRUSTED_HOPS,
`educonnect.sign_in_limits.client_ip`), so that a client cannot pick the
address the per-IP limits count by sending an X-Forwarded-For header of its
own (DESIGN §4). Behind N reverse proxies, set FORWARDED_FOR_TRUSTED_HOPS=N.

In production mode (EDUCONNECT_ENV) it refuses to start on a development
default, naming it (`educonnect.production_mode`), and when the FranceConnect
provider does not advertise a scope of FRANCECONNECT_SCOPES, naming the scope. The access log never
carries a query string (`api.access_log`): email links hold their token there."""

from __future__ import annotations

import argparse
import asyncio

import uvicorn

from educonnect.franceconnect import ProviderScopesError, check_provider_scopes
from educonnect.production_mode import ProductionSettingsError, require_production_ready
from educonnect.settings import get_settings


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m api", description="Serve the EduConnect API.")
    parser.add_argument(
        "--host",
        default=settings.api_host,
        help=f"address to listen on (default {settings.api_host})",
    )
    parser.add_argument(
        "--port", type=int, default=settings.api_port, help=f"port (default {settings.api_port})"
    )
    args = parser.parse_args(argv)
    try:
        require_production_ready(settings)
        asyncio.run(check_provider_scopes(settings))
    except (ProductionSettingsError, ProviderScopesError) as refused:
        raise SystemExit(str(refused)) from None
    uvicorn.run(
        "api.app:app", host=args.host, port=args.port, proxy_headers=False, server_header=False
    )


if __name__ == "__main__":
    main()
