#!/usr/bin/env bash
# Regenerate the initial migration from the models (while the project has no deployed
# database, every model change is folded into it): deletes migrations/versions/0001_initial.py
# and autogenerates it again against an empty SQLite file, then adds what autogenerate cannot
# see (the append-only triggers of case_events). Review the result, then run the tests
# (tests/test_migrations.py checks it matches the models on SQLite and PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -f migrations/versions/0001_initial.py
CASETRACK_DATABASE_URL="sqlite:///$tmp/empty.db" .venv/bin/alembic revision --autogenerate \
  --rev-id 0001 -m initial 2>&1 | grep -v "^INFO "
.venv/bin/python - <<'PY'
from pathlib import Path
path = Path("migrations/versions/0001_initial.py")
text = path.read_text()
end = "    # ### end Alembic commands ###\n"
extra = ("    # ### end Alembic commands ###\n"
         "    # Not seen by autogenerate: the database refuses to change or remove a case event.\n"
         "    for sql in APPEND_ONLY.get(op.get_bind().dialect.name, []):\n"
         "        op.execute(sql)\n")
text = text.replace(end, extra, 1)
text = text.replace("import casetrack.db.types\n",
                    "import casetrack.db.types\nfrom casetrack.models.cases import APPEND_ONLY\n", 1)
path.write_text(text)
PY
