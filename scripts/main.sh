#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the main job: the example legacy notebook evaluator,
# written only against the in-process GHC API names, going through the shim to a real GHC.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m examples.notebook examples/demo_notebook.md "$@"
