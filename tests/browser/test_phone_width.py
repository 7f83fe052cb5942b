"""Every page as every role at 360 × 740 (a phone) and 1366 × 900 (a desk): nothing is wider than
the screen, and no text fails WCAG AA contrast (axe-core's color-contrast rule)."""
from __future__ import annotations

from pathlib import Path

import pytest

from casetrack import create_app

AXE = Path(__file__).resolve().parent / "axe.min.js"  # axe-core 4.14.1 from the npm registry (MPL-2.0)
ROLES = ("group1", "member1", "team1", "county", "dept1", "admin")
THIRD_PARTY = ("/api/docs",)  # Swagger UI's own colours: checked for width, not restyled
SKIP = ("static", "healthz", "auth.login")  # the login page is checked logged out, below


def pages() -> list[str]:
    """Every HTML page that takes no argument: the app's GET routes minus API, feeds and downloads."""
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint in SKIP:
            continue
        if rule.rule.startswith(("/api/v1", "/open311")) or rule.rule.endswith((".xlsx", "-template")):
            continue
        out.append(rule.rule)
    return sorted(set(out))


def check(s, path: str, width: int) -> list[str]:
    """What is wrong with one page at one width: overflow, or text that is hard to read."""
    response = s.go(path)
    if response.status in (403, 404):
        return []  # not this role's page (the access matrix checks that)
    assert response.status == 200, (path, response.status)
    problems = []
    scroll = s.page.evaluate("document.documentElement.scrollWidth")
    if scroll > width:
        problems.append(f"{path} is {scroll} px wide at {width} px")
    # Through the DevTools protocol, which the page's CSP (no inline script) does not govern.
    if path in THIRD_PARTY:
        return problems
    s.page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = s.page.evaluate("axe.run(document, {runOnly: ['color-contrast']})")
    for v in result["violations"]:
        problems += [f"{path}: {node['target']} {node['failureSummary'][:120]}" for node in v["nodes"]]
    return problems


@pytest.mark.parametrize("width,height", [(360, 740), (1366, 900)])
def test_every_page_fits_the_screen_and_reads_clearly(session, width, height):
    problems = []
    guest = session(None, width=width, height=height)
    problems += check(guest, "/login", width)
    for username in ROLES:
        s = session(username, width=width, height=height)
        for path in pages():
            problems += check(s, path, width)
        if username != "admin":
            s.go("/")
            link = s.page.locator("tr[data-case] a").first
            if link.count():
                problems += check(s, link.get_attribute("href"), width)
        s.close()
    assert problems == []


@pytest.mark.parametrize("width,height", [(360, 740), (1366, 900)])
def test_the_county_board_and_the_inbox_at_both_widths(session, width, height):
    s = session("county", width=width, height=height)
    for path, name in (("/boards/county", "county-board"), ("/", "inbox")):
        s.go(path)
        assert s.page.evaluate("document.documentElement.scrollWidth") <= width
        s.shot(f"{name}-{width}")
    s.page.click("details.menu > summary")
    assert s.page.locator("details.menu nav.main a[href='/settings/']").is_visible()
    assert s.page.evaluate("document.querySelector('header.top').getBoundingClientRect().height") < 60
