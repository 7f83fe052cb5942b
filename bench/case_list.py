"""The case list page (keyset paging) at 1M cases (province: 5M) vs at 10k cases: the size must not matter."""
from __future__ import annotations

from sqlalchemy import func, select

from bench.common import line, populated, sized, timed
from casetrack.extensions import db
from casetrack.models import Case, User


def _page_time(app, repeat: int) -> tuple[float, int]:
    """Seconds per page, over a county officer's and a group leader's first and a deep page."""
    users = {role: db.session.scalars(select(User).where(User.role == role).order_by(User.id)).first()
             for role in ("county_officer", "group_leader")}
    middle = db.session.scalar(select(func.max(Case.id))) // 2
    total = 0.0
    for user in users.values():
        client = app.test_client()
        assert client.post("/login", data={"username": user.username, "password": "demo"}).status_code == 302
        for path in ("/cases", f"/cases?cursor={middle}", "/cases?state=county"):
            response = client.get(path)
            assert response.status_code == 200 and b"cursor=" in response.data, path
            total += timed(lambda p=path: client.get(p), repeat)
    return total / 6, db.session.scalar(select(func.count()).select_from(Case))


def run(databases, quick: bool) -> bool:
    small, large = (5_000, 100_000) if quick else (10_000, sized(1_000_000))
    repeat = 20 if quick else 50
    with populated(databases.data(cases=small)) as app:
        t_small, n_small = _page_time(app, repeat)
    with populated(databases.data(cases=large)) as app:  # file_case_http's data set too
        t_large, n_large = _page_time(app, repeat)
    return line("case_list", t_large / t_small, "<=", 1.5,
                f"{1000 * t_large:.2f} ms/page at {n_large} cases, {1000 * t_small:.2f} ms/page "
                f"at {n_small} cases (county officer and group leader; first, deep, by state)")
