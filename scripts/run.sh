#!/usr/bin/env bash
# Set up, create the SQLite database in instance/, load the demo county once, serve on 127.0.0.1:5000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
export FLASK_APP=casetrack
.venv/bin/flask init-db
.venv/bin/flask demo
exec .venv/bin/gunicorn --bind 127.0.0.1:${PORT:-5000} --workers 2 --worker-class gthread --threads 4 --access-logfile - wsgi:app
