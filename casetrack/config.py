"""Configuration: defaults here, then instance/config.py, then CASETRACK_* environment variables."""
from __future__ import annotations

import secrets
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
    WORKFLOWS_DIR = str(shipped("workflows"))
    WORKFLOW = "campaign"
    MAIL_SERVER = None  # "host" or "host:port": notices are also mailed to users with an e-mail
    MAIL_FROM = "casetrack@localhost"
    BABEL_DEFAULT_LOCALE = "zh_Hans"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(PACKAGE / "translations")
    LANGUAGES = ("zh_Hans", "en")
    PAGE_SIZE = 50
    LOCK_TIMEOUT = 15  # seconds a request waits for a lock (SQLite: the write lock) before it answers "busy"
    WEBHOOK_TIMEOUT = 5  # seconds a webhook receiver gets to answer (deliver-webhooks)
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    HTTPS = False      # served over HTTPS (directly or behind a proxy): Secure cookies
    PROXY_FIX = 0      # how many reverse proxies stand in front, for X-Forwarded-For/-Proto
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # a cadre's form stays valid while the session does


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
    if not app.config["SECRET_KEY"]:
        key_file = Path(app.instance_path) / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        app.config["SECRET_KEY"] = key_file.read_text().strip()

