"""``buursignaal keys`` (authorities' API keys) and ``buursignaal keycloak`` (the local OIDC
provider): who may call the notifier, and where people sign in (ADR 0016, docs/security.md)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from tools.local import keycloak

T = TypeVar("T")


def _with_sessions(job: Callable[..., Awaitable[T]], *args: object) -> T:
    from services.notifier.settings import NotifierSettings
    from services.runtime.database import make_engine, session_factory
    from services.runtime.migrations import upgrade

    settings = NotifierSettings()
    upgrade("notifier", settings.effective_database_url)

    async def run() -> T:
        engine = make_engine(settings.effective_database_url)
        try:
            return await job(session_factory(engine), *args)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _keys(args: argparse.Namespace) -> int:
    from services.notifier import authorities

    if args.action == "list":
        for row in _with_sessions(authorities.list_keys, args.target):
            used = row.last_used_at.isoformat() if row.last_used_at else "never"
            state = f"revoked {row.revoked_at.isoformat()}" if row.revoked_at else "active"
            print(
                f"{row.id}  {row.recipient_id:<14} {row.name:<20} "
                f"created {row.created_at.isoformat()}  last used {used}  {state}"
            )
        return 0
    if not args.target:
        print("buursignaal keys: name the recipient id (create) or key id (revoke)")
        return 2
    if args.action == "create":
        try:
            row, key = _with_sessions(authorities.create_key, args.target, args.name)
        except LookupError as error:
            print(f"buursignaal keys: {error} (buursignaal notifier add-authority)")
            return 1
        print(f"API key {row.id} '{row.name}' for {row.recipient_id} (shown once): {key}")
        return 0
    if not _with_sessions(authorities.revoke_key, args.target):
        print(f"buursignaal keys: no key {args.target}")
        return 1
    print(f"Key {args.target} revoked; the sessions it opened are ended.")
    return 0


def _keycloak(args: argparse.Namespace) -> int:
    defaults = keycloak.KeycloakConfig()
    config = keycloak.KeycloakConfig(
        data_dir=Path(args.data_dir) if args.data_dir else defaults.data_dir, port=args.port
    )
    if args.action == "up":
        print(keycloak.up(config).describe())
    elif args.action == "down":
        print("Keycloak stopped." if keycloak.down(config) else "Keycloak was not running.")
    elif args.action == "fetch":
        keycloak.fetch(config)
        print(f"Keycloak in {config.home}.")
    else:
        status = keycloak.status(config)
        print(status.describe())
        return 0 if status.running else 3
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="authorities' API keys: create, list, revoke")
    keys.add_argument("action", choices=("create", "list", "revoke"))
    keys.add_argument(
        "target", nargs="?", help="create: recipient id; revoke: key id; list: recipient id"
    )
    keys.add_argument("--name", default="key", help="create: the key's name, e.g. its system")
    keys.set_defaults(handler=_keys)

    provider = commands.add_parser("keycloak", help="the local OpenID Connect provider")
    provider.add_argument("action", choices=("up", "down", "status", "fetch"))
    provider.add_argument("--port", type=int, default=8180, help="HTTP port (127.0.0.1)")
    provider.add_argument("--data-dir", help="pid and log (default var/keycloak)")
    provider.set_defaults(handler=_keycloak)
