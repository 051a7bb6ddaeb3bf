"""``buursignaal``: run the services, the local broker, migrations and contract exports.

Errors that a person can fix end with one sentence on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError

from tools import identity
from tools.local import kafka
from tools.local.errors import LocalInfraError
from tools.local.stack import LOCAL_WEATHER_DIR

if TYPE_CHECKING:
    from typing import TypeAlias

    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]  # add_subparsers()
    from services.notifier.app import Notifier
    from services.notifier.settings import NotifierSettings

SERVICE_NAMES = ("intake", "router", "notifier")
T = TypeVar("T")


def _broker_config(args: argparse.Namespace) -> kafka.BrokerConfig:
    defaults = kafka.BrokerConfig()
    authentication = getattr(args, "authentication", False)
    starts = args.action == "up"  # the authorities' principals are made when a broker starts
    return kafka.BrokerConfig(
        data_dir=Path(args.data_dir) if args.data_dir else defaults.data_dir,
        port=args.port,
        controller_port=args.controller_port,
        brokers=args.brokers,
        authentication=authentication,
        authorities=_local_authorities() if authentication and starts else (),
    )


def _local_authorities() -> tuple[str, ...]:
    """Every recipient of the router's reference data gets a principal on the local broker."""
    from services.router.settings import RouterSettings
    from tools.deployment import recipient_ids

    quiet = logging.getLogger("services.router")  # the terminal shows one line per component
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        return tuple(recipient_ids(RouterSettings().reference_dir))
    finally:
        quiet.setLevel(level)


def _kafka(args: argparse.Namespace) -> int:
    config = _broker_config(args)
    if args.action == "up":
        print(kafka.up(config).describe())
    elif args.action == "down":
        was_running = kafka.down(config, wipe=args.wipe)
        what = "Kafka broker" if config.brokers == 1 else "Kafka cluster"
        print(f"{what} stopped." if was_running else f"{what} was not running.")
    elif args.action == "fetch":
        kafka.fetch_jars(config)
        print(f"Kafka jars in {config.lib_dir}.")
    elif args.action == "credentials":
        return _kafka_credentials(config, args.principal)
    elif args.action == "provision":
        return _kafka_provision(args)
    else:
        status = kafka.status(config)
        print(status.describe())
        return 0 if status.running else 3
    return 0


def _kafka_credentials(config: kafka.BrokerConfig, principal: str | None) -> int:
    """What a principal of the local broker signs in with (an authority: and its status key)."""
    from services.runtime.settings import ServiceSettings
    from services.runtime.status_signature import status_key

    if not principal:
        names = kafka.load_credentials(config)
        print(f"{len(names)} principals in {config.credentials_file}: name one.")
        return 0 if names else 3
    credentials = kafka.credentials(config, principal)
    if principal.startswith("authority-"):  # what deploy/authority/consumer.py reads
        secret = ServiceSettings().secret_key.get_secret_value()
        key = status_key(secret, principal.removeprefix("authority-")).hex()
        print(f"KAFKA_PASSWORD={credentials.password}")
        print(f"BUURSIGNAAL_STATUS_KEY={key}")
    else:  # the tooling's (deadletters) and the services' settings
        print(f"BUURSIGNAAL_KAFKA_USERNAME={credentials.username}")
        print(f"BUURSIGNAAL_KAFKA_PASSWORD={credentials.password}")
    return 0


def _kafka_provision(args: argparse.Namespace) -> int:
    """On any broker (compose): as the admin of ``BUURSIGNAAL_KAFKA_*``, give the services the
    SCRAM passwords of ``BUURSIGNAAL_<SERVICE>_KAFKA_PASSWORD`` and every principal its ACLs."""
    import os

    from services.runtime.settings import ServiceSettings
    from tools.kafka_principals import SERVICES, service_user
    from tools.local.acls import add_users, grant

    admin = ServiceSettings().kafka_credentials
    if admin is None:
        raise SystemExit("set BUURSIGNAAL_KAFKA_USERNAME and _PASSWORD (the admin) first")
    bootstrap = args.bootstrap_servers or ServiceSettings().kafka_bootstrap_servers
    passwords = {
        service_user(name): os.environ[f"BUURSIGNAAL_{name.upper()}_KAFKA_PASSWORD"]
        for name in SERVICES
        if os.environ.get(f"BUURSIGNAAL_{name.upper()}_KAFKA_PASSWORD")
    }
    add_users(bootstrap, admin, passwords)
    authorities = _local_authorities()
    bindings = grant(bootstrap, admin, authorities)
    print(f"{len(passwords)} SCRAM users, {bindings} ACLs for {len(authorities) + 3} principals.")
    return 0


def _topics(args: argparse.Namespace) -> int:
    from schemas.topics import all_static_topics
    from services.runtime.broker import ensure_topics
    from services.runtime.settings import ServiceSettings

    credentials = ServiceSettings().kafka_credentials  # BUURSIGNAAL_KAFKA_USERNAME: the admin's
    created = asyncio.run(
        ensure_topics(args.bootstrap_servers, all_static_topics(), credentials=credentials)
    )
    print(f"Created {len(created)} topic(s): {', '.join(created) or 'all existed'}.")
    return 0


def _settings_for(service: str) -> object:
    if service == "intake":
        from services.intake.settings import IntakeSettings

        return IntakeSettings()
    if service == "router":
        from services.router.settings import RouterSettings

        return RouterSettings()
    from services.notifier.settings import NotifierSettings

    return NotifierSettings()


def _migrate(args: argparse.Namespace) -> int:
    from services.runtime.logs import configure
    from services.runtime.migrations import upgrade
    from services.runtime.settings import ServiceSettings

    settings = _settings_for(args.service)
    assert isinstance(settings, ServiceSettings)
    configure(settings.log_format)
    upgrade(args.service, settings.effective_database_url)
    print(f"{args.service}: database at head.")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from services.runtime.logs import configure
    from services.runtime.settings import ServiceSettings

    settings = _settings_for(args.service)
    assert isinstance(settings, ServiceSettings)
    configure(settings.log_format)  # before alembic's import logs its plugins
    import uvicorn

    from services.runtime.migrations import upgrade

    upgrade(args.service, settings.effective_database_url)
    factory = f"services.{args.service}.app:create_app"
    uvicorn.run(
        factory,
        factory=True,
        host=args.host or settings.http_host,
        port=args.port or settings.http_port,
        log_level="info",
        log_config=None,  # our handlers (services.runtime.logs)
        access_log=False,
    )
    return 0


def _stack(args: argparse.Namespace) -> int:
    from tools.local import keycloak, stack

    if args.action == "logs":
        try:
            for line in stack.follow(stack.log_files(args.service)):
                print(line, flush=True)
        except KeyboardInterrupt:
            pass
        return 0
    provider = keycloak.KeycloakConfig(port=args.keycloak_port) if args.keycloak else None
    stack.run(_broker_config(args), base_port=args.base_port, keycloak_config=provider)
    return 0


def _schemas(args: argparse.Namespace) -> int:
    from schemas.compat import check_exports, write_exports
    from tools.contracts import (
        stale_asyncapi,
        stale_openapi,
        stale_topic_reference,
        write_asyncapi,
        write_openapi,
        write_topic_reference,
    )

    if args.check:
        breaking, stale = check_exports()
        stale += stale_asyncapi() + stale_openapi()
        if stale_topic_reference():
            stale.append("docs/topics.md")
        for line in breaking:
            print(f"incompatible: {line}", file=sys.stderr)
        for line in stale:
            print(f"stale: {line}", file=sys.stderr)
        return 1 if breaking or stale else 0
    try:
        written = write_exports()
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 1
    written += [*write_asyncapi(), *write_openapi(), write_topic_reference()]
    print(f"Wrote {len(written)} contract files.")
    return 0


def _intake(args: argparse.Namespace) -> int:
    from services.intake.app import build_intake, build_runtime_for
    from services.intake.settings import IntakeSettings
    from services.runtime.clock import SystemClock
    from services.runtime.migrations import upgrade

    settings = IntakeSettings()
    upgrade("intake", settings.effective_database_url)
    runtime = build_runtime_for(settings, SystemClock())
    intake = build_intake(settings, runtime)

    async def run() -> str:
        try:
            if args.action == "add-open311-client":
                key = await intake.register_client(args.client_id, args.name or args.client_id)
                return f"api_key for {args.client_id} (shown once): {key}"
            erased = await intake.erase_expired_contacts()
            return f"Erased the contact details of {erased} report(s) past retention."
        finally:
            await runtime.engine.dispose()

    print(asyncio.run(run()))
    return 0


def _deadletters(args: argparse.Namespace) -> int:
    from services.runtime.settings import ServiceSettings
    from tools.deadletters import run

    if args.action != "list" and not args.names:
        raise SystemExit("name the dead letters (see `buursignaal deadletters list`), or: all")
    settings = ServiceSettings()
    bootstrap = settings.kafka_bootstrap_servers
    return run(args.action, bootstrap, args.names, args.topic, settings.kafka_credentials)


def _notifier(args: argparse.Namespace) -> int:
    from services.notifier.authorities import register_authority
    from services.notifier.settings import NotifierSettings
    from services.runtime.database import make_engine, session_factory
    from services.runtime.migrations import upgrade

    settings = NotifierSettings()
    upgrade("notifier", settings.effective_database_url)
    if args.action == "scan":
        return _notifier_scan(settings)
    if args.action == "digest":
        return _notifier_digest(settings)
    if not args.recipient_id:
        print("buursignaal: add-authority needs a recipient id", file=sys.stderr)
        return 2

    async def run() -> str:
        engine = make_engine(settings.effective_database_url)
        try:
            key = await register_authority(
                session_factory(engine), args.recipient_id, args.name or args.recipient_id
            )
        finally:
            await engine.dispose()
        return (
            f"API key for {args.recipient_id} (shown once; keys it had keep working until "
            f"`buursignaal keys revoke`): {key}"
        )

    print(asyncio.run(run()))
    return 0


def _on_demand(settings: NotifierSettings, job: Callable[[Notifier], Awaitable[T]]) -> T:
    """Run one of the notifier's rounds now, outside the running service."""
    from services.notifier.app import build_notifier
    from services.runtime.clock import SystemClock

    notifier = build_notifier(settings, SystemClock())

    async def run() -> T:
        try:
            return await job(notifier)
        finally:
            await notifier.runtime.engine.dispose()

    return asyncio.run(run())


def _notifier_digest(settings: NotifierSettings) -> int:
    """A digest on demand (archived; announced by the running notifier's relay)."""
    digest_id = _on_demand(settings, lambda notifier: notifier.publish_digest())
    print(f"digest {digest_id}: {settings.public_base_url.rstrip('/')}/digests/{digest_id}")
    return 0


def _notifier_scan(settings: NotifierSettings) -> int:
    """The daily scan on demand; the patterns go out through the notifier's outbox."""
    announced = _on_demand(settings, lambda notifier: notifier.scan())
    print(f"scan done: {announced} pattern(s) announced (published by the running notifier)")
    return 0


def _deploy(args: argparse.Namespace) -> int:
    from tools.deployment import write

    stale = write(Path(args.reference), check=args.check)
    if args.check and stale:
        print(
            f"buursignaal: stale manifests {stale}: run buursignaal deploy render", file=sys.stderr
        )
        return 1
    print("manifests up to date" if args.check else f"wrote {len(stale)} manifest file(s)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tools.demo import plan, register_with_cli, run, wind_series, write_knmi_hours

    reports = plan(Path(args.reference), seed=args.seed, days=args.days, per_day=args.per_day)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=args.days)
    wind_file = write_knmi_hours(
        wind_series(args.seed, args.days), start, Path(args.reference), Path(args.weather_dir)
    )
    print(f"demo: wind series for the simulated week in {wind_file}")
    episodes = sorted({r.episode for r in reports if r.episode})
    print(
        f"demo: {len(reports)} reports over {args.days} simulated days "
        f"(episodes: {', '.join(episodes)}), {args.scale:.0f}x real time"
    )
    urls = {"intake_url": args.intake, "notifier_url": args.notifier}
    simulation = run(
        reports, **urls, scale=args.scale, seed=args.seed, start=start, register=register_with_cli
    )
    counts = asyncio.run(simulation)
    print(", ".join(f"{k}: {v}" for k, v in counts.items()))
    return 0


def _reference(args: argparse.Namespace) -> int:
    if args.action == "import-boundaries":
        return _import_boundaries(args)
    if args.action == "import-facilities":
        return _import_facilities(args)
    return _check_reference(args)


def _import_boundaries(args: argparse.Namespace) -> int:
    import httpx

    from services.router.reference.importers import import_boundaries
    from services.router.reference.loader import ReferenceDataError

    if args.year is None:
        print("buursignaal: import-boundaries needs --year", file=sys.stderr)
        return 2
    try:
        counts = import_boundaries(
            args.year, Path(args.directory), url=args.url, with_water=args.with_water
        )
    except (httpx.HTTPError, ReferenceDataError, ValueError) as error:
        print(f"buursignaal: boundaries not imported: {error}", file=sys.stderr)
        return 1
    for layer, count in counts.items():
        print(f"{layer}_{args.year}.geojson: {count} features")
    return 0


def _import_facilities(args: argparse.Namespace) -> int:
    from services.router.reference.importers import import_facilities
    from services.router.reference.loader import ReferenceDataError
    from services.router.rules import load_rules
    from services.router.versions import ResolverByYear
    from services.router.wind import FixedWind

    if args.eea_csv is None:
        print("buursignaal: import-facilities needs --eea-csv", file=sys.stderr)
        return 2
    try:
        latest = ResolverByYear.load(Path(args.reference), load_rules(), FixedWind(None)).latest
        out = Path(args.directory) / "registry" / "facilities_nl.csv"
        count = import_facilities(Path(args.eea_csv), out, latest.registry, latest.places)
    except (OSError, ReferenceDataError) as error:
        print(f"buursignaal: facilities not imported: {error}", file=sys.stderr)
        return 1
    print(f"{out}: {count} Dutch facilities (Seveso tier and competent authority to verify)")
    return 0


def _check_reference(args: argparse.Namespace) -> int:
    from services.router.reference.loader import ReferenceDataError, check_registry, load_registry
    from services.router.reference.places import PlaceIndex
    from services.router.versions import available_years

    directory = Path(args.directory)
    years = available_years(directory)
    if not years:
        print(f"buursignaal: no registry/gemeenten_<year>.csv in {directory}", file=sys.stderr)
        return 1
    total = 0
    for year in years:
        try:
            registry = load_registry(directory, year=year)
        except (ReferenceDataError, KeyError, ValueError) as error:
            print(
                f"buursignaal: reference data {year} in {directory} cannot be read: {error}",
                file=sys.stderr,
            )
            return 1
        places = PlaceIndex.load(
            directory, {code: m.centroid for code, m in registry.municipalities.items()}, year=year
        )
        problems = check_registry(registry) + places.check(registry)
        inferred = sum(
            m.omgevingsdienst_confidence != "verified" for m in registry.municipalities.values()
        )
        print(f"reference {registry.version} in {directory} (valid from 1 January {year})")
        print(
            f"  {len(registry.municipalities)} municipalities ({inferred} with an inferred "
            f"omgevingsdienst), {len(registry.provinces)} provinces, "
            f"{len(registry.safety_regions)} safety regions, "
            f"{len(registry.ggd_regions)} GGD regions"
        )
        print(
            f"  {len(registry.omgevingsdiensten)} omgevingsdiensten "
            f"({sum(o.is_seveso for o in registry.omgevingsdiensten.values())} Seveso), "
            f"{len(registry.water_boards)} water boards, {len(registry.facilities)} facilities"
        )
        print(f"  boundary layers: {', '.join(places.layers) or 'NONE (degraded mode)'}")
        for problem in problems:
            print(f"  problem: {problem}")
        total += len(problems)
    print("OK" if not total else f"{total} problem(s)")
    return 0 if not total else 1


def _add_broker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=9092, help="broker port (127.0.0.1)")
    parser.add_argument("--controller-port", type=int, default=9093, help="KRaft controller port")
    parser.add_argument("--data-dir", help="broker data directory (default var/kafka)")
    parser.add_argument(
        "--brokers",
        type=int,
        default=1,
        help="1 (default) or a cluster of 3: nodes 2 and 3 on the next port pairs, data in "
        "<data-dir>/node-N; topics get 3 replicas, min.insync.replicas=2",
    )
    parser.add_argument(
        "--authentication",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="SASL/SCRAM-SHA-512 and ACLs, a principal per service and authority, passwords in "
        "<data-dir>/credentials.json (default; ADR 0018); --no-authentication: plaintext",
    )


def _add_runtime_commands(commands: Commands) -> None:
    broker = commands.add_parser("kafka", help="the local Kafka broker (or a cluster)")
    broker.add_argument(
        "action", choices=("up", "down", "status", "fetch", "credentials", "provision")
    )
    broker.add_argument("--bootstrap-servers", help="provision: the brokers (compose)")
    broker.add_argument("principal", nargs="?", help="credentials: e.g. authority-od-odnzkg")
    broker.add_argument("--wipe", action="store_true", help="with down: delete the broker's data")
    _add_broker_options(broker)
    broker.set_defaults(handler=_kafka)

    topics = commands.add_parser("topics", help="create the registry's topics")
    topics.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    topics.set_defaults(handler=_topics)

    migrate = commands.add_parser("migrate", help="bring a service's database to the latest schema")
    migrate.add_argument("service", choices=SERVICE_NAMES)
    migrate.set_defaults(handler=_migrate)

    serve = commands.add_parser("serve", help="run one service")
    serve.add_argument("service", choices=SERVICE_NAMES)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(handler=_serve)

    stack_parser = commands.add_parser("stack", help="broker + all services on this machine")
    stack_parser.add_argument("action", choices=("up", "logs"))
    stack_parser.add_argument(
        "service", nargs="?", choices=SERVICE_NAMES, help="logs: one service (default all)"
    )
    stack_parser.add_argument(
        "--base-port", type=int, default=8000, help="intake's port; router +1, notifier +2"
    )
    stack_parser.add_argument(
        "--keycloak",
        action="store_true",
        help="also the local OIDC provider; the inbox signs in there",
    )
    stack_parser.add_argument("--keycloak-port", type=int, default=8180)
    _add_broker_options(stack_parser)
    stack_parser.set_defaults(handler=_stack)


def _add_admin_commands(commands: Commands) -> None:
    intake = commands.add_parser("intake", help="intake administration")
    intake.add_argument("action", choices=("add-open311-client", "erase-contacts"))
    intake.add_argument("client_id", nargs="?", default="app", help="with add-open311-client")
    intake.add_argument("--name", help="the client app's display name")
    intake.set_defaults(handler=_intake)

    notifier = commands.add_parser("notifier", help="notifier administration")
    notifier.add_argument("action", choices=("add-authority", "scan", "digest"))
    notifier.add_argument(
        "recipient_id", nargs="?", help="add-authority: the recipient id, e.g. gm0453"
    )
    notifier.add_argument("--name", help="the authority's display name")
    notifier.set_defaults(handler=_notifier)

    dead = commands.add_parser(
        "deadletters", help="list, show or replay dead letters (to their original topic)"
    )
    dead.add_argument("action", choices=("list", "show", "replay"))
    dead.add_argument("names", nargs="*", help="show/replay: <topic>@<partition>:<offset>, or all")
    dead.add_argument("--topic", help="one dead-letter topic instead of every one")
    dead.set_defaults(handler=_deadletters)

    demo = commands.add_parser("demo", help="a simulated week of reports against the stack")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--days", type=float, default=7)
    demo.add_argument("--per-day", type=int, default=120)
    demo.add_argument("--scale", type=float, default=600, help="simulated s per real s")
    demo.add_argument("--intake", default="http://127.0.0.1:8000")
    demo.add_argument("--notifier", default="http://127.0.0.1:8002")
    weather_help = "where the local router reads its wind"
    demo.add_argument("--weather-dir", default=str(LOCAL_WEATHER_DIR), help=weather_help)
    demo.add_argument("--reference", default="../shared/data")
    demo.set_defaults(handler=_demo)

    shots = commands.add_parser("screenshots", help="every page at 1280 and 375 px (docs)")
    shots.add_argument("--intake", default="http://127.0.0.1:8000")
    shots.add_argument("--notifier", default="http://127.0.0.1:8002")
    shots.add_argument("--out", default="docs/screenshots")
    shots.set_defaults(handler=_screenshots)


def _screenshots(args: argparse.Namespace) -> int:
    from services.runtime.settings import ServiceSettings
    from tools import screenshots

    secret = ServiceSettings().secret_key.get_secret_value()
    return screenshots.main(args.intake, args.notifier, secret, Path(args.out))


def _add_data_commands(commands: Commands) -> None:
    deploy = commands.add_parser("deploy", help="render the generated Kubernetes manifests")
    deploy.add_argument("action", choices=("render",))
    deploy.add_argument("--check", action="store_true", help="fail when they are stale")
    deploy.add_argument("--reference", default="../shared/data")
    deploy.set_defaults(handler=_deploy)

    reference = commands.add_parser("reference", help="the router's reference data")
    reference.add_argument("action", choices=("check", "import-boundaries", "import-facilities"))
    directory_help = "check: the directory to check; imports: the directory to write into"
    reference.add_argument("directory", nargs="?", default="../shared/data", help=directory_help)
    reference.add_argument("--year", type=int, help="import-boundaries: the CBS year")
    reference.add_argument("--url", help="import-boundaries: WFS address (default PDOK)")
    water_help = "import-boundaries: municipalities with their waters (CBS Wijk- en Buurtkaart)"
    reference.add_argument("--with-water", action="store_true", help=water_help)
    reference.add_argument("--eea-csv", help="import-facilities: the EEA facility table (CSV)")
    reference_help = "import-facilities: boundaries and registry that place each facility"
    reference.add_argument("--reference", default="../shared/data", help=reference_help)
    reference.set_defaults(handler=_reference)

    contract = commands.add_parser("schemas", help="export JSON Schema, AsyncAPI and OpenAPI")
    contract.add_argument("action", choices=("export",))
    contract.add_argument("--check", action="store_true", help="fail when an export is stale")
    contract.set_defaults(handler=_schemas)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="buursignaal", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_runtime_commands(commands)
    _add_admin_commands(commands)
    _add_data_commands(commands)
    identity.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except LocalInfraError as error:
        print(f"buursignaal: {error}", file=sys.stderr)
        return 2
    except ValidationError as error:
        messages = "; ".join(str(e.get("ctx", {}).get("error", e["msg"])) for e in error.errors())
        print(f"buursignaal: configuration refused: {messages}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
