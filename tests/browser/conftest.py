"""A real server on a temporary SQLite file (CSRF on) and Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from casetrack import create_app
from casetrack.extensions import db
from tests.factories import add_rectification, build_world
from tests.helpers import serving

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app served by Werkzeug in a thread on a free port; yields its base URL."""
    db_file = tmp_path_factory.mktemp("browser") / "browser.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{db_file}", "SECRET_KEY": "browser-tests",
                      "WTF_CSRF_ENABLED": True, "ATTACHMENTS_DIR": str(db_file.parent / "attachments"),
                      "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}})
    with app.app_context():
        db.create_all()
        add_rectification(build_world())   # the civilized-city campaign beside the grand visit
        db.session.commit()
        db.session.remove()
    with serving(app) as base:
        yield base
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory):
    """The demo county of `flask demo` (1,500 cases, 144 groups, ~1,000 cadres; every password
    "secret") served like live_server; yields (base URL, {"case": the case with the longest
    timeline, "target": a visited target, "petition": a petition}). Loading takes a minute or two."""
    from sqlalchemy import func, select

    from casetrack.models import CaseEvent, Petition, Visit
    from casetrack.services.dataset.demo import load_demo
    db_file = tmp_path_factory.mktemp("demo") / "demo.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{db_file}", "SECRET_KEY": "demo-browser-tests",
                      "WTF_CSRF_ENABLED": True, "ATTACHMENTS_DIR": str(db_file.parent / "attachments"),
                      "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}})
    with app.app_context():
        db.create_all()
        load_demo(password="secret")
        db.session.commit()
        ids = {"case": db.session.scalar(select(CaseEvent.case_id).group_by(CaseEvent.case_id)
                                         .order_by(func.count().desc(), CaseEvent.case_id).limit(1)),
               "target": db.session.scalar(select(func.min(Visit.target_id))),
               "petition": db.session.scalar(select(func.min(Petition.id)))}
        db.session.remove()
    with serving(app) as base:
        yield base, ids
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium; missing Chromium fails in CI (CI=true) and skips elsewhere."""
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is missing: install Debian's chromium (scripts/system-packages.sh)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


class Session:
    """One person's browser window on the live server."""

    def __init__(self, browser, base: str, width: int = 1280, height: int = 900):
        self.base = base
        self.context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})
        # Generous: the live server shares two cores with the rest of the suite; a real fault still fails.
        self.context.set_default_timeout(30_000)
        self.page = self.context.new_page()

    def go(self, path: str):
        return self.page.goto(self.base + path)

    def login(self, username: str, password: str = "secret") -> Session:
        self.go("/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("main form button[type=submit]")
        self.page.wait_for_selector(".flash.success")
        return self

    def act(self, case_id: int, trigger: str, **fields: str | list[str] | bytes):
        """Open the form of one action on the case page, fill it in and send it."""
        page = self.page
        if not page.url.endswith(f"/cases/{case_id}"):
            self.go(f"/cases/{case_id}")
        form = f'form[data-trigger="{trigger}"]'
        page.click(f"details:has({form}) > summary")
        for name, value in fields.items():
            if isinstance(value, list):   # boxes to tick (assisting departments)
                for box in value:
                    page.check(f'{form} [name={name}][value="{box}"]')
                continue
            element = page.locator(f"{form} [name={name}]")
            if isinstance(value, bytes):   # a photo to choose
                element.set_input_files({"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": value})
            elif element.evaluate("e => e.tagName") == "SELECT":
                element.select_option(value)
            else:
                element.fill(value)
        with page.expect_navigation():
            page.click(f"{form} button[type=submit]")

    def state(self) -> str:
        return self.page.get_attribute(".facts [data-state]", "data-state")

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def session(browser, live_server):
    """session('group1') is a fresh logged-in window; session(None) is not logged in."""
    opened: list[Session] = []

    def make(username: str | None, **size) -> Session:
        s = Session(browser, live_server, **size)
        opened.append(s)
        return s.login(username) if username else s
    yield make
    for s in opened:
        s.close()
