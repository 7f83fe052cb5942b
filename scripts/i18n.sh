#!/usr/bin/env bash
# Translations: `i18n.sh extract` refreshes messages.pot and merges it into each catalogue
# (then translate the new entries in casetrack/translations/*/LC_MESSAGES/messages.po);
# `i18n.sh compile` (the default, also run by setup.sh) builds the .mo files the app reads.
set -euo pipefail
cd "$(dirname "$0")/.."
BABEL=.venv/bin/pybabel
DIR=casetrack/translations
case "${1:-compile}" in
  extract)
    "$BABEL" extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
      --project casetrack -o "$DIR/messages.pot" .
    "$BABEL" update -i "$DIR/messages.pot" -d "$DIR" --no-fuzzy-matching
    ;;
  compile)
    "$BABEL" compile -d "$DIR" --statistics
    ;;
  *) echo "usage: $0 [extract|compile]" >&2; exit 2 ;;
esac
