"""The leader's dashboard and the assessment in Chromium: nothing wider than a 360 px phone;
screenshots at 360 and 1366 px."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("width, height", [(360, 740), (1366, 900)])
def test_dashboard_and_assessment_fit_the_screen(session, width, height):
    s = session("county", width=width, height=height)
    for path, name in [("/dashboard", "dashboard"), ("/assessment?kind=group", "assessment")]:
        s.go(path)
        s.page.wait_for_selector("h1")
        assert s.page.evaluate("document.documentElement.scrollWidth") <= width, (path, width)
        s.shot(f"{name}-{width}")
    s.go("/dashboard?unit=T1")
    assert s.page.locator("h1").inner_text() == "领导看板: 东山镇工作队"
