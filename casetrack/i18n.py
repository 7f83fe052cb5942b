"""Languages: {zh, en} labels of the workflow file, and compiling the translation catalogues."""
from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_babel import get_locale

TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def localized(label: dict[str, str] | None) -> str:
    """Pick the current language from a {zh, en} label of the workflow file."""
    if not label:
        return ""
    return label.get("en" if str(get_locale()) == "en" else "zh") or next(iter(label.values()))


def compile_catalogues(folder: Path = TRANSLATIONS) -> list[Path]:
    """Compile every messages.po whose .mo is missing or older; returns the files written."""
    written = []
    for po in folder.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        with mo.open("wb") as f:
            write_mo(f, catalog)
        written.append(mo)
    return written
