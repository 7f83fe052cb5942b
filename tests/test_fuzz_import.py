"""Fuzz the spreadsheet parser and the target import: a clear refusal or a clean import, nothing else."""
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Target
from casetrack.services.common.errors import ServiceError
from casetrack.services.integration.sheets import read_rows
from casetrack.services.fieldwork.targets import import_targets

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
HEADER = ["类型", "名称", "地址", "村/社区", "责任工作组(code)", "责任干部(username)", "编号"]


def good_xlsx() -> bytes:
    book = Workbook()
    book.active.append(HEADER)
    book.active.append(["农户", "张三户", "王家组1号", "王家村", "G1", "", "H1"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD = good_xlsx()


@FUZZ
@given(data=st.binary(max_size=2000), name=st.sampled_from(["a.xlsx", "a.csv", "a.xls", "a"]))
def test_random_bytes_are_refused_clearly(data, name):
    try:
        read_rows(name, data)
    except ServiceError as exc:
        assert exc.message


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), min_size=1,
                      max_size=8))
def test_damaged_xlsx_is_refused_clearly(flips):
    data = bytearray(GOOD)
    for at, byte in flips:
        data[at] = byte
    try:
        read_rows("damaged.xlsx", bytes(data))
    except ServiceError as exc:
        assert exc.message


CELL = st.one_of(st.text(max_size=12), st.sampled_from(["农户", "企业", "G1", "G2", "G3", "member1",
                                                         "=1+1", "@x", "H1", "H1", ""]))


@pytest.fixture
def importer(world):
    return world.users["group1"]


@FUZZ
@given(rows=st.lists(st.lists(CELL, min_size=0, max_size=8), max_size=6))
def test_fuzzed_csv_imports_whole_or_not_at_all(importer, rows):
    import csv
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    before = db.session.scalar(select(func.count()).select_from(Target))
    try:
        result = import_targets(importer, "t.csv", out.getvalue().encode("utf-8-sig"))
    except ServiceError as exc:
        assert exc.message
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Target)) == before
    else:
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Target)) == before + result["imported"]
