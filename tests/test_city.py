"""A city above counties: `generate --counties N` makes one, and its bulletin ranks its counties."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import Unit
from casetrack.services.reports.bulletin import bulletin
from casetrack.services.workdays.calendar import today
from casetrack.services.reports.bulletin_export import tables


def test_a_generated_city_compares_its_counties_in_its_bulletin(app, runner):
    result = runner.invoke(args=["generate", "--targets", "600", "--cases", "300", "--visits", "400",
                                 "--counties", "3", "--seed", "5"])
    assert result.exit_code == 0, result.output
    city = db.session.scalars(select(Unit).where(Unit.kind == "city")).one()
    counties = db.session.scalars(select(Unit).where(Unit.kind == "county").order_by(Unit.code)).all()
    assert [c.parent_id for c in counties] == [city.id] * 3
    figures = bulletin(city, today() - timedelta(days=130), today())
    rows = {r["code"]: r for r in figures["units"] if r["level"] == "county"}
    assert sorted(rows) == [c.code for c in counties]
    assert sorted(r["rank"] for r in rows.values()) == [1, 2, 3]
    groups = [r for r in figures["units"] if r["level"] == "group"]
    for county in counties:   # a county's row adds up its groups' rows
        mine = [g for g in groups if g["code"].startswith(county.code)]
        assert rows[county.code]["found"] == sum(g["found"] for g in mine) > 0
        assert rows[county.code]["visits"] == sum(g["visits"] for g in mine)
    assert sum(r["found"] for r in rows.values()) == figures["problems"]["found"]
    ranked = [r for r in figures["units"]][:3]
    assert [r["level"] for r in ranked] == ["county"] * 3 and [r["rank"] for r in ranked] == [1, 2, 3]
    ranking = next(t for t in tables(figures) if t.key == "ranking")
    assert [row[2] for row in ranking.rows[:3]] == [r["name"] for r in ranked]
