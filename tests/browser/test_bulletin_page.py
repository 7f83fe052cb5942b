"""The bulletin page in Chromium under the app's CSP: its ECharts charts draw, nothing is refused."""
from __future__ import annotations


def test_bulletin_charts_draw_under_the_csp(session):
    s = session("county")
    refused: list[str] = []
    s.page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
    s.page.on("pageerror", lambda e: refused.append(str(e)))
    s.go("/reports/bulletin?unit=C")
    s.page.wait_for_selector(".echart svg")
    assert s.page.locator(".echart svg").count() == 2          # two open; the rest drawn when unfolded
    s.page.click("#more-charts > summary")
    s.page.wait_for_selector("#more-charts .echart svg")
    assert s.page.locator(".echart svg").count() >= 3          # visits, categories, levels (bar charts)
    assert refused == []
    assert s.page.locator("h1").inner_text() == "大走访活动简报"
    assert not s.page.locator("#ranking table").is_visible()    # folded on screen...
    s.page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert s.page.locator("#ranking table").is_visible()        # ...open on paper
    s.page.emulate_media(media="print")
    assert not s.page.locator("nav.main").is_visible()          # the print stylesheet hides the chrome
    s.shot("bulletin")
