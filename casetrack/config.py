"""Configuration: defaults here, then instance/config.py, then CASETRACK_* environment variables."""
from __future__ import annotations

import os
import secrets
from datetime import date
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent  # the checkout


def shipped(name: str) -> Path:
    """A top-level file or folder of the checkout (templates, workflows, migrations, alembic.ini),
    or the copy that an installed wheel carries inside the package (setup.py puts it there)."""
    bundled = PACKAGE / "_data" / name
    return bundled if bundled.exists() else ROOT / name


class Defaults:
    DATABASE_URL = None  # default: sqlite:///<instance>/casetrack.db
    SECRET_KEY = None    # default: a random key kept in <instance>/secret_key
    # The audit chain's HMAC key, never stored in the database: someone who can write the
    # database cannot forge the chain without it. Back it up with the database.
    AUDIT_KEY = None     # default: a random key kept in <instance>/audit_key
    WORKFLOWS_DIR = str(shipped("workflows"))
    WORKFLOW = "campaign"
    MAIL_SERVER = None  # "host" or "host:port": notices are also mailed to users with an e-mail
    MAIL_FROM = "casetrack@localhost"
    MAIL_TIMEOUT = 10  # seconds the SMTP server gets for each step (deliver-mail)
    BABEL_DEFAULT_LOCALE = "zh_Hans"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(PACKAGE / "translations")
    LANGUAGES = ("zh_Hans", "en")
    PAGE_SIZE = 50
    # rows a list page shows at most (the API's pages are PAGE_SIZE): a phone reads it in five screens
    LIST_PAGE_SIZE = 20
    # cases the list counts at most above its rows (a campaign has about 20,000): past it, "more than"
    LIST_COUNT_LIMIT = 100_000
    LOCK_TIMEOUT = 15  # seconds a request waits for a lock (SQLite: the write lock) before it answers "busy"
    WEBHOOK_TIMEOUT = 5  # seconds a webhook receiver gets to answer (deliver-webhooks)
    # networks where receivers may be although not public (loopback, private...), e.g. ["10.20.0.0/16"]
    WEBHOOK_ALLOWED_NETWORKS: tuple[str, ...] = ()
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    # Open311: the unit code of the jurisdiction served (default: the one unit at the top), a
    # contact for the discovery document, and whether key-less reads see requests (nothing personal)
    OPEN311_JURISDICTION = None
    OPEN311_CONTACT = ""
    OPEN311_PUBLIC_READS = False
    # Photos and documents: "folder" (ATTACHMENTS_DIR, default <instance>/attachments) on one
    # host; "database" where several app servers share one database.
    ATTACHMENTS = "folder"
    ATTACHMENTS_DIR = None
    ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    ATTACHMENT_MAX_PIXELS = 50_000_000  # a 48-megapixel phone photo passes; bigger is refused unread
    # Where a photo is processed after its upload's answer: "background", a low-priority thread of
    # the worker; "inline", in the thread that answered, before its next request (the tests).
    PHOTO_PROCESSING = "background"
    HTTPS = False      # served over HTTPS (directly or behind a proxy): Secure cookies
    PROXY_FIX = 0      # how many reverse proxies stand in front, for X-Forwarded-For/-Proto
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # a cadre's form stays valid while the session does
    # The campaign's first day ("2026-06-01"): no problem is found before it, and the bulletin's
    # cumulative figures (截至目前) count from it. None: no lower bound, counted from the start.
    CAMPAIGN_START = None


def load(app) -> None:
    """Fill app.config from the three sources, later ones winning."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    # Values are parsed as JSON when they can be (CASETRACK_HTTPS=true, CASETRACK_LOCK_TIMEOUT=15),
    # else kept as text; CASETRACK_A__B sets key B of the dict A.
    app.config.from_prefixed_env("CASETRACK")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'casetrack.db'}"
    for name, file in (("SECRET_KEY", "secret_key"), ("AUDIT_KEY", "audit_key")):
        if not app.config[name]:
            app.config[name] = _kept_key(Path(app.instance_path) / file)
    if app.config["ATTACHMENTS"] not in ("folder", "database"):
        raise RuntimeError("ATTACHMENTS: 'folder' or 'database', please")
    if app.config["PHOTO_PROCESSING"] not in ("background", "inline"):
        raise RuntimeError("PHOTO_PROCESSING: 'background' or 'inline', please")
    start = app.config["CAMPAIGN_START"]
    if start is not None and not isinstance(start, date):
        try:
            app.config["CAMPAIGN_START"] = date.fromisoformat(str(start))
        except ValueError:
            raise RuntimeError(f"CAMPAIGN_START: a date like 2026-06-01, please (not {start!r})") from None
    app.config["AUDIT_KEY"] = str(app.config["AUDIT_KEY"])  # CASETRACK_AUDIT_KEY may parse as a number
    if len(app.config["AUDIT_KEY"]) < MIN_AUDIT_KEY:
        raise RuntimeError(f"AUDIT_KEY: at least {MIN_AUDIT_KEY} characters, please "
                           "(python3 -c 'import secrets; print(secrets.token_hex(32))')")


MIN_AUDIT_KEY = 32


def _kept_key(key_file: Path) -> str:
    """The random key kept in `key_file`, made on first start, readable by its owner only; the
    file appears whole (a link to a written file), so two processes starting at once keep one key."""
    if not key_file.exists():
        made = key_file.with_name(f".{key_file.name}.{os.getpid()}")
        with os.fdopen(os.open(made, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(made, key_file)
        except FileExistsError:
            pass
        finally:
            made.unlink()
    return key_file.read_text().strip()

