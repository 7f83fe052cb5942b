"""Issue 24's "done when": with the demo county loaded (1,500 cases, 144 groups, ~1,000 cadres),
every page as every role at 360 × 740 (a phone) and 1366 × 768 (a desk) is no wider than the
screen and no taller than five screens before its pager (or its end): lists page, long secondary
parts fold. Screenshots of the dashboard, the bulletin and the county board at both widths."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import Session
from tests.browser.test_phone_width import pages

ROLES = ("county", "leader", "team01", "group001", "g001m1", "dept01", "admin")
SCREENS = 5
THIRD_PARTY = ("/api/docs",)   # Swagger UI lists the whole API on one page: its own layout

# Where a page's reading ends: the top of its pager, or else the bottom of the document.
EXTENT = """() => {
  const pager = document.querySelector('nav.pager');
  const end = pager ? pager.getBoundingClientRect().top + window.scrollY
                    : document.documentElement.scrollHeight;
  return [Math.round(end), document.documentElement.scrollWidth];
}"""


def today():
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def measure(s: Session, path: str, width: int, height: int) -> list[str]:
    """What is wrong with one page: wider than the screen, or too tall before its pager."""
    response = s.go(path)
    if response.status in (403, 404):
        return []   # not this role's page (the access matrix checks that)
    assert response.status == 200, (path, response.status)
    end, scroll_width = s.page.evaluate(EXTENT)
    problems = []
    if scroll_width > width:
        problems.append(f"{path} is {scroll_width} px wide at {width} px")
    if end > SCREENS * height and path not in THIRD_PARTY:
        problems.append(f"{path} is {end} px tall before its pager at {width}×{height} "
                        f"({end / height:.1f} screens)")
    return problems


@pytest.mark.parametrize("width,height", [(360, 740), (1366, 768)])
def test_every_page_holds_the_demo_county_in_five_screens(browser, demo_server, width, height):
    base, ids = demo_server
    walk = pages() + [f"/cases/{ids['case']}", f"/targets/{ids['target']}", f"/petitions/{ids['petition']}",
                      "/assessment?kind=group", "/targets?visited=false"]
    problems: list[str] = []
    for username in ROLES:
        s = Session(browser, base, width=width, height=height).login(username)
        for path in walk:
            problems += [f"{username}: {p}" for p in measure(s, path, width, height)]
        s.close()
    assert problems == []


@pytest.mark.parametrize("width,height", [(360, 740), (1366, 768)])
def test_the_county_s_pages_at_both_widths(browser, demo_server, width, height):
    """The office's desk with the whole county in it: the case list pages by keyset with its total,
    the board's figures come first; screenshots for the README."""
    base, _ids = demo_server
    s = Session(browser, base, width=width, height=height).login("county")
    s.go("/cases")
    total = int(s.page.inner_text("#list-total"))
    first = s.page.locator("tr[data-case]").evaluate_all("rows => rows.map(r => r.dataset.case)")
    assert total > 1000 and len(first) == 20
    assert s.page.inner_text("nav.pager .total") == f"共 {total} 条"
    s.page.click("nav.pager a[rel=next]")
    second = s.page.locator("tr[data-case]").evaluate_all("rows => rows.map(r => r.dataset.case)")
    assert len(second) == 20 and int(second[0]) < int(first[-1])   # the next 20, newest first
    period = f"from={today() - timedelta(days=59)}&to={today()}"   # the demo's two months of visits
    for path, name in (("/boards/county", "demo-county-board"), (f"/dashboard?{period}", "demo-dashboard"),
                       (f"/reports/bulletin?{period}", "demo-bulletin")):
        s.go(path)
        s.page.wait_for_selector("h1")
        s.shot(f"{name}-{width}")
    s.go("/boards/county")
    open_cases = int(s.page.inner_text('.headline [data-figure="open"] .count'))
    assert open_cases > 500
    # the office's own list is open with its ten most urgent; the others fold under their figures
    assert s.page.locator("#incoming tr[data-case]").first.is_visible()
    assert not s.page.locator("#referred tr[data-case]").first.is_visible()
    assert re.match(r"共 \d+ 件", s.page.inner_text("#referred summary .figures"))
    s.close()
