#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the static checks and the whole test suite against
# the real GHC. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
ruff check .
mypy --strict compat core tests bench
pytest "$@"
