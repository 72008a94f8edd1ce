#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian machine: Debian's GHC (9.0.2 on
# Debian 12) and a virtual environment in .venv with the package and its dev dependencies.
# Safe to run again: every step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup: need root (or sudo) to run: $*" >&2; exit 1; fi
}

if ! command -v ghc >/dev/null 2>&1; then
    echo "setup: installing Debian's ghc" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ghc </dev/null >/dev/null
fi
ghc --version >&2

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    if ! "$PY" -m venv .venv 2>/dev/null; then
        # Debian's python3 ships venv's pip bootstrap in a separate package.
        rm -rf .venv
        echo "setup: installing python3-venv" >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv \
            </dev/null >/dev/null
        "$PY" -m venv .venv
    fi
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' </dev/null
