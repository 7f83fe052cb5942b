"""The database machinery under the ORM, one job per module.

Importing the package installs the engine-wide event listeners (SQLite's set-up and writer
lock, writes sent with the COMMIT); create_app imports it, so every engine the app makes has
them. Models and services import what they use from the modules themselves.
"""
from casetrack.db import at_commit, sqlite, writer_lock  # noqa: F401  (event listeners)
