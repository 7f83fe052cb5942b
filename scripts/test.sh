#!/usr/bin/env bash
# Set up (with the test tools) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
bash scripts/setup.sh dev
exec .venv/bin/python -m pytest "$@"
