"""The text the audit chain hashes is fixed: chains and seals already in databases must keep
verifying. The expected hashes below were computed by the release before the serialisation was
made one function (casetrack.canonical), from the same event, key and case."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from casetrack.canonical import canonical_json
from casetrack.models import CaseEvent
from casetrack.models.cases import EVENT_COLUMNS, RowHasher, case_seal, row_hash

KEY = b"0123456789abcdef0123456789abcdef"
AT = datetime(2026, 10, 10, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
DATA = {"reason": "村道损坏，需要县交通局协调", "funds": "2.50", "departments": ["D01", "D07"],
        "urgent": True, "n": None}
FIRST = "5bf2b64e6379925757f9cfe107988d9d30819c3df4592a2aa148661ce67564c9"


def event() -> CaseEvent:
    return CaseEvent(prev_hash="ab" * 32, case_id=42, at=AT, actor_id=7, trigger="escalate",
                     from_state="at_group", to_state="at_team", from_unit_id=3, to_unit_id=2, data=DATA)


def test_an_event_hashes_as_before():
    assert event().digest(KEY) == FIRST


def test_an_event_from_before_the_key_hashes_as_before():
    assert event().unkeyed_digest() == "fbfb9e1c469115df729004a1c682532f93c6723b8b00b5d96ee2e20ce765cbfa"


def test_events_written_in_bulk_chain_as_before():
    rows = [(42, AT, 7, "escalate", "at_group", "at_team", 3, 2, DATA),
            (43, AT, None, "overdue", "at_team", "at_team", None, 2, {})]
    chained = RowHasher(EVENT_COLUMNS).chain(rows, {42: "ab" * 32}, KEY)
    assert [row[-1] for row in chained] == [
        FIRST, "319e1b7945407bbbb298abdb119212de6f9bd559dd941c9e4a07c3aa6382ae19"]
    assert [row[-2] for row in chained] == ["ab" * 32, ""]


def test_a_generated_row_hashes_as_the_orm_does(app):
    row = {c: getattr(event(), c) for c in EVENT_COLUMNS} | {"prev_hash": "ab" * 32}
    assert row_hash(row) == event().digest()


def test_a_case_seal_is_as_before():
    values = ("at_team", 2, 5, None, None, None, "2026-10-20", None, Decimal("2.5"), None)
    assert case_seal(KEY, 42, "cd" * 32, values) == \
        "b7296d3c420b11956dc5d7cc36f263a59a12ca1fb856a4eb39067af722704775"


def test_canonical_json_sorts_keys_keeps_chinese_and_has_no_spaces():
    assert canonical_json({"b": [1, None], "a": "县"}) == '{"a":"县","b":[1,null]}'
    assert canonical_json({"at": AT}, default=str) == '{"at":"2026-10-10 09:30:15.123456+08:00"}'
