"""Engine options per dialect, from the final configuration: every engine waits a bounded time
for a lock, so a request stuck behind one answers "busy" instead of holding its worker."""
from __future__ import annotations


def configure(app) -> None:
    """Engine settings for the final DATABASE_URL (after create_app's overrides)."""
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    # On SQLite the driver's timeout is its busy timeout, which the writer lock (writer_lock.py)
    # reads back.
    wait = app.config["LOCK_TIMEOUT"]
    if app.config["DATABASE_URL"].startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": wait})
    elif app.config["DATABASE_URL"].startswith("postgresql"):
        options.setdefault("connect_args", {"options": f"-c lock_timeout={int(wait * 1000)}"})
