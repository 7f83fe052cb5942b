#!/usr/bin/env bash
# Create .venv and install casetrack into it: `setup.sh` the app alone, `setup.sh demo` with Faker
# for the demo county (scripts/run.sh), `setup.sh dev` with the test tools and the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
  # Debian splits venv out of python3; install it when we can.
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null;
  else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv >/dev/null; fi
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
case "${1:-}" in
  dev) .venv/bin/python -m pip install -q -e '.[dev,demo]' ;;
  demo) .venv/bin/python -m pip install -q -e '.[demo]' ;;
  *) .venv/bin/python -m pip install -q -e . ;;
esac
# The translations are kept as .po; build the .mo files the app reads.
bash scripts/i18n.sh compile >/dev/null
