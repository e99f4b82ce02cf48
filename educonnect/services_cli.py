"""Registering the school services with EduConnect's OpenID Connect provider
(DESIGN §10), for operators:

    python -m educonnect.services_cli register --client-id ent-lyon --name "ENT Lyon" \\
        --redirect-uri https://ent.example.fr/callback --scope openid --scope profile \\
        --claim given_name --claim family_name --backchannel-logout-uri https://ent.example.fr/bcl
    python -m educonnect.services_cli list
    python -m educonnect.services_cli new-secret ent-lyon
    python -m educonnect.services_cli disable ent-lyon
    python -m educonnect.services_cli rotate-keys

`register` prints the client secret once (client_secret_basic; only its HMAC
is kept); `--auth private_key_jwt --jwks-file keys.json` registers the
service's public keys instead. Registering an existing client id replaces
its registration (and gives it a new secret). Reads DATABASE_URL."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from educonnect import db, service_clients, signing_keys
from educonnect.service_claims import CLAIMS, SCOPES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m educonnect.services_cli")
    commands = parser.add_subparsers(dest="command", required=True)
    reg = commands.add_parser("register", help="register (or replace) a service")
    reg.add_argument("--client-id", required=True)
    reg.add_argument("--name", required=True, help="the name families read")
    reg.add_argument(
        "--auth",
        default=service_clients.SECRET_BASIC,
        choices=[service_clients.SECRET_BASIC, service_clients.PRIVATE_KEY_JWT],
    )
    reg.add_argument("--jwks-file", type=Path, help="private_key_jwt: the service's public keys")
    reg.add_argument("--redirect-uri", action="append", required=True, help="exact; repeatable")
    reg.add_argument("--post-logout-redirect-uri", action="append", default=[])
    reg.add_argument("--scope", action="append", choices=SCOPES, default=[])
    reg.add_argument("--claim", action="append", choices=CLAIMS, default=[])
    reg.add_argument("--backchannel-logout-uri")
    reg.add_argument("--sector", help="pairwise subjects' sector (default: the client id)")
    reg.add_argument("--portal-service", help="the portal tile that opens it (e.g. ent)")
    reg.add_argument("--initiate-login-uri", help="the service's address that starts sign-in")
    commands.add_parser("list", help="the registered services")
    secret = commands.add_parser("new-secret", help="a new client secret (the old one stops)")
    secret.add_argument("client_id")
    disable = commands.add_parser("disable", help="the service can no longer sign anyone in")
    disable.add_argument("client_id")
    commands.add_parser("rotate-keys", help="a new signing key (the old one published a while)")
    return parser


async def run(args: argparse.Namespace, out=sys.stdout) -> int:
    pool = await db.create_pool()
    try:
        if args.command == "register":
            registration = service_clients.Registration(
                client_id=args.client_id,
                name=args.name,
                auth_method=args.auth,
                jwks=json.loads(args.jwks_file.read_text()) if args.jwks_file else None,
                redirect_uris=args.redirect_uri,
                post_logout_redirect_uris=args.post_logout_redirect_uri,
                scopes=args.scope or ["openid"],
                claims=args.claim or ["sub"],
                backchannel_logout_uri=args.backchannel_logout_uri,
                sector=args.sector,
                portal_service=args.portal_service,
                initiate_login_uri=args.initiate_login_uri,
            )
            secret = await service_clients.register(pool, registration)
            print(f"registered {args.client_id}", file=out)
            if secret:
                print(f"client secret (shown once): {secret}", file=out)
        elif args.command == "list":
            for row in await service_clients.all_clients(pool):
                state = "disabled" if row["disabled_at"] else "enabled"
                print(
                    f"{row['client_id']}\t{row['name']}\t{row['auth_method']}\t{state}\t"
                    f"scopes={' '.join(row['scopes'])}\tclaims={' '.join(row['claims'])}\t"
                    f"redirect_uris={' '.join(row['redirect_uris'])}\t"
                    f"backchannel_logout_uri={row['backchannel_logout_uri'] or '-'}",
                    file=out,
                )
        elif args.command == "new-secret":
            new = await service_clients.new_secret(pool, args.client_id)
            if new is None:
                print(f"no client_secret_basic service {args.client_id}", file=sys.stderr)
                return 1
            print(f"client secret (shown once): {new}", file=out)
        elif args.command == "disable":
            if not await service_clients.disable(pool, args.client_id):
                print(f"no service {args.client_id}", file=sys.stderr)
                return 1
            print(f"disabled {args.client_id}", file=out)
        elif args.command == "rotate-keys":
            print(f"new signing key {await signing_keys.rotate(pool)}", file=out)
    except (ValidationError, ValueError) as err:
        print(f"refused: {err}", file=sys.stderr)
        return 2
    finally:
        await pool.close()
    return 0


def main(argv: list[str] | None = None) -> None:
    sys.exit(asyncio.run(run(_parser().parse_args(argv))))


if __name__ == "__main__":
    main()
