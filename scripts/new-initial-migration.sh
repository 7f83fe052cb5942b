#!/usr/bin/env bash
# Regenerate the initial migration from the models (while the project has no deployed
# database, every model change is folded into it): deletes migrations/versions/0001_initial.py
# and autogenerates it again against an empty SQLite file. Review the result, then run the
# tests (tests/test_migrations.py checks it matches the models on SQLite and PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -f migrations/versions/0001_initial.py
CASETRACK_DATABASE_URL="sqlite:///$tmp/empty.db" .venv/bin/alembic revision --autogenerate \
  --rev-id 0001 -m initial
