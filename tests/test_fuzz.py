"""Fuzzed forms and API bodies: never a server error, every refusal a message, nothing half-written."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8)
KEYS = st.sampled_from(["title", "description", "category", "kind", "resident", "target", "visit",
                        "trigger", "version", "reason", "department", "due_date", "resolution", "funds",
                        "donations", "explanation", "revisit_on", "satisfied", "note", "group", "case",
                        "actor", "x"])
BODIES = st.dictionaries(KEYS, JSON | st.sampled_from(["environment", "shared", "individual", "D1",
                                                       "G2", "escalate", "resolve", "refer", "verify",
                                                       "2099-01-01", "1", 1]), max_size=8)
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def consistent():
    """Every case has its filing event and one event per version: nothing half-written."""
    for case in db.session.query(Case):
        assert db.session.query(CaseEvent).filter_by(case_id=case.id).count() == case.version
    db.session.rollback()


@pytest.fixture
def group_api(api):
    return api("group1")


@pytest.fixture
def group_pages(client, auth, world):
    world.file()
    db.session.commit()
    auth.login("group1")
    return client


@FUZZ
@given(body=BODIES | JSON)
def test_fuzzed_api_bodies(group_api, body):
    client = group_api
    for path in ("/cases", "/cases/1/transitions"):
        r = client.post(path, json=body)
        assert r.status_code in (200, 201, 400, 403, 404, 409, 422), (path, body, r.status_code)
        assert r.is_json and ("error" not in r.json or r.json["message"])
    consistent()


@FUZZ
@given(form=st.dictionaries(KEYS, st.text(max_size=40) | st.sampled_from(["D1", "true", "2099-01-01", "-1"]),
                            max_size=8),
       trigger=st.sampled_from(["escalate", "resolve", "explain", "refer", "verify", "nope", "%00"]))
def test_fuzzed_forms(group_pages, form, trigger):
    for url in ("/cases/new", f"/cases/1/{trigger}"):
        r = group_pages.post(url, data=form)
        assert r.status_code < 500, (url, form, r.status_code)
        assert b"Traceback" not in r.data
    consistent()
