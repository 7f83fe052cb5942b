"""Languages: {zh, en} labels of the workflow file, and compiling the translation catalogues."""
from __future__ import annotations

import os
import tempfile
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


def compile_catalogues(folder: Path = TRANSLATIONS, out: Path | None = None) -> list[Path]:
    """Compile every messages.po of `folder` whose .mo (beside it, or at the same place under
    `out`) is missing or older; returns the files written."""
    written = []
    for po in folder.glob("*/LC_MESSAGES/messages.po"):
        mo = (out / po.relative_to(folder) if out else po).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        mo.parent.mkdir(parents=True, exist_ok=True)
        # written aside and renamed: another worker starting at the same time never reads half a file
        fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalog)
            os.replace(tmp, mo)
        except BaseException:
            os.unlink(tmp)
            raise
        written.append(mo)
    return written


def ensure_catalogues(app) -> None:
    """The .mo files Flask-Babel reads, built from the .po files at start-up when missing or
    stale (they are not committed, and `pip install .` alone must give Chinese pages): beside
    the .po, or under instance/translations when the package folder cannot be written."""
    folders = app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";")
    usable = []
    for folder in map(Path, folders):
        try:
            compile_catalogues(folder)
            usable.append(str(folder))
        except OSError as exc:
            out = Path(app.instance_path) / "translations"
            app.logger.warning("cannot write the compiled translations beside %s (%s); using %s",
                               folder, exc, out)
            compile_catalogues(folder, out)
            usable.append(str(out))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(usable)
