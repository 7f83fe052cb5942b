#!/usr/bin/env bash
# Set up (with the test tools) and run the whole test suite twice: on SQLite, then on a
# throw-away PostgreSQL cluster (CASETRACK_TEST_DB=postgresql). Locally the PostgreSQL run is
# skipped only when no server binaries exist; in CI (CI=true) it is never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
bash scripts/setup.sh dev
echo "== SQLite"
sqlite_rc=0
.venv/bin/python -m pytest "$@" || sqlite_rc=$?
pg_rc=0
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ "${CI:-}" = true ]; then
  echo "== PostgreSQL"
  CASETRACK_TEST_DB=postgresql .venv/bin/python -m pytest "$@" || pg_rc=$?
else
  echo "== PostgreSQL run skipped: no /usr/lib/postgresql/*/bin/initdb (install postgresql)"
fi
[ "$sqlite_rc" = 0 ] && [ "$pg_rc" = 0 ]
