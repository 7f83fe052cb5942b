"""Progress of long work (issue 28, item 4): the CLI says what it did in one line, with bars
only on a terminal; an import page streams how far a large sheet has come, all or nothing."""
from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Case, Target, Visit
from tests.test_targets import csv_bytes

ROOT = Path(__file__).resolve().parent.parent
ROWS = 3000


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def many_targets(n: int = ROWS, bad: dict[int, list] | None = None) -> bytes:
    rows = [["农户", f"户{i}", f"王家组{i}号", "王家村", "G1", "", f"H{i:05d}"] for i in range(n)]
    for i, row in (bad or {}).items():
        rows[i] = row
    return csv_bytes(rows)


def test_the_cli_says_what_it_did_in_one_line_when_not_on_a_terminal(app, world, runner, tmp_path):
    generated = runner.invoke(args=["generate", "--cases", "50"])
    assert generated.exit_code == 0, generated.output
    assert len(generated.output.splitlines()) == 1 and " 50 cases, " in generated.output

    sheet = tmp_path / "targets.csv"
    sheet.write_bytes(many_targets(500))
    imported = runner.invoke(args=["import-targets", str(sheet), "--as", "county"])
    assert imported.exit_code == 0, imported.output
    assert imported.output.startswith(f"500 targets imported, 0 updated from {sheet} in ")
    assert len(imported.output.splitlines()) == 1
    again = runner.invoke(args=["import-targets", str(sheet), "--as", "county"])
    assert again.output.startswith("0 targets imported, 500 updated")
    db.session.expire_all()
    assert count(Target) == 500

    copy = tmp_path / "copy.db"
    saved = runner.invoke(args=["backup", str(copy)])
    assert saved.exit_code == 0, saved.output
    assert saved.output.startswith(f"backup written to {copy} (") and " MB) in " in saved.output
    restored = runner.invoke(args=["restore", str(copy), "--yes"])
    assert restored.exit_code == 0 and restored.output.startswith(f"database restored from {copy} in ")


def test_a_cli_import_with_bad_rows_names_them_and_imports_nothing(app, world, runner, tmp_path):
    sheet = tmp_path / "targets.csv"
    sheet.write_bytes(many_targets(100, bad={10: ["飞船", "外星户", "", "", "G1", "", "X1"],
                                             50: ["农户", "", "", "", "G9", "", ""]}))
    result = runner.invoke(args=["import-targets", str(sheet), "--as", "county"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("error: ")
    assert any(line.startswith("  row 12, 类型: ") for line in lines)
    assert any(line.startswith("  row 52, 名称: ") for line in lines)
    assert count(Target) == 0
    nobody = runner.invoke(args=["import-targets", str(sheet), "--as", "nobody"])
    assert nobody.exit_code == 1 and "no active user nobody" in nobody.output


def test_cli_imports_of_visits_and_cases(app, world, runner, tmp_path):
    targets = tmp_path / "targets.csv"
    targets.write_bytes(many_targets(3))
    assert runner.invoke(args=["import-targets", str(targets), "--as", "group1"]).exit_code == 0
    visits = tmp_path / "visits.csv"
    visits.write_bytes(csv_bytes([["2026-06-01", "H00000", "", "聊了收成"], ["2026-06-01", "H00001", "", ""]],
                                 header=["日期", "对象编号", "走访干部", "走访情况"]))
    result = runner.invoke(args=["import-visits", str(visits), "--as", "group1"])
    assert result.exit_code == 0 and result.output.startswith("2 visits imported, 0 there already"), result.output
    cases = tmp_path / "cases.csv"
    cases.write_bytes(csv_bytes([["村道坑洼", "infrastructure"], ["路灯不亮", "infrastructure"]],
                                header=["问题标题", "问题类别"]))
    result = runner.invoke(args=["import-cases", str(cases), "--as", "group1"])
    assert result.exit_code == 0 and result.output.startswith("2 cases filed from "), result.output
    assert (count(Visit), count(Case)) == (2, 2)
    refused = runner.invoke(args=["import-cases", str(cases), "--as", "county"])
    assert refused.exit_code == 1 and refused.output.startswith("error: ") and count(Case) == 2


def test_on_a_terminal_the_bars_go_to_stderr_and_stdout_keeps_the_summary(tmp_path):
    env = {**os.environ, "CASETRACK_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "CASETRACK_SECRET_KEY": "t", "COLUMNS": "100"}
    terminal, stderr = pty.openpty()
    with subprocess.Popen([sys.executable, "-m", "flask", "--app", "casetrack", "generate", "--targets", "2000",
                           "--cases", "300"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr) as run:
        os.close(stderr)
        shown = b""
        while True:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            shown += chunk
        out = run.stdout.read().decode()
    os.close(terminal)
    assert run.returncode == 0, shown.decode(errors="replace")
    assert out.splitlines() == [line for line in out.splitlines() if line.startswith("added ")] and \
        len(out.splitlines()) == 1, out
    screen = shown.decode(errors="replace")
    for bar in ("targets", "cases", "daily figures"):
        assert bar in screen, screen
    assert "2000/2000" in screen and "300/300" in screen, screen


def post_import(client, data: bytes, name: str = "targets.csv", streamed: bool = True):
    headers = {"Accept-Language": "en", **({"X-Import-Progress": "1"} if streamed else {})}
    return client.post("/targets/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", headers=headers)


def test_an_import_page_streams_its_progress_then_what_it_did(world, auth, client):
    auth.login("county")
    page = client.get("/targets/import").get_data(as_text=True)
    assert 'id="import-bar"' in page and "import.js" in page and "data-import-progress" in page
    res = post_import(client, many_targets())
    assert res.status_code == 200 and res.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in res.get_data(as_text=True).splitlines()]
    steps = [line for line in lines if "step" in line]
    for step in ("reading", "checking", "writing"):
        seen = [s for s in steps if s["step"] == step]
        assert seen and seen[-1]["done"] == seen[-1]["total"], (step, seen)
        assert all(s["done"] <= (s["total"] or s["done"]) for s in seen)
    assert [s for s in steps if s["step"] == "checking"][-1]["total"] == ROWS
    assert lines[-1] == {"ok": True, "message": f"{ROWS} targets imported, 0 updated.", "next": "/targets"}
    db.session.expire_all()
    assert count(Target) == ROWS


def test_a_streamed_import_with_a_bad_row_lists_it_and_writes_nothing(world, auth, client):
    auth.login("county")
    res = post_import(client, many_targets(bad={ROWS - 1: ["农户", "", "", "", "G9", "", ""]}))
    last = json.loads(res.get_data(as_text=True).splitlines()[-1])
    assert last["ok"] is False and last["message"].startswith("Nothing was imported")
    assert {(e["row"], e["column"]) for e in last["errors"]} == {(ROWS + 1, "名称"), (ROWS + 1, "责任工作组(code)")}
    assert count(Target) == 0
    # without a file the form is refused in the same shape
    res = client.post("/targets/import", data={}, content_type="multipart/form-data",
                      headers={"X-Import-Progress": "1", "Accept-Language": "en"})
    assert res.status_code == 422 and json.loads(res.get_data(as_text=True))["ok"] is False
    # and a page without the script still gets the plain answer
    res = post_import(client, many_targets(10), streamed=False)
    assert res.status_code == 302 and count(Target) == 10


def test_a_streamed_case_import_is_all_or_nothing_in_the_users_language(world, auth, client):
    auth.login("group1")
    good = csv_bytes([["村道坑洼", "infrastructure"]] * 3, header=["问题标题", "问题类别"])
    res = client.post("/cases/import", data={"file": (io.BytesIO(good), "cases.csv")},
                      content_type="multipart/form-data", headers={"X-Import-Progress": "1"})
    lines = [json.loads(line) for line in res.get_data(as_text=True).splitlines()]
    assert [s["done"] for s in lines if s.get("step") == "filing"][-1] == 3
    assert lines[-1]["ok"] is True and lines[-1]["message"] == "已登记 3 个问题。", lines[-1]
    bad = csv_bytes([["村道坑洼", "infrastructure"], ["", "nonsense"]], header=["问题标题", "问题类别"])
    res = client.post("/cases/import", data={"file": (io.BytesIO(bad), "cases.csv")},
                      content_type="multipart/form-data", headers={"X-Import-Progress": "1"})
    assert json.loads(res.get_data(as_text=True).splitlines()[-1])["ok"] is False
    db.session.expire_all()
    assert count(Case) == 3


def test_a_streamed_import_that_breaks_says_so_without_a_traceback(world, auth, client, monkeypatch):
    from casetrack.services.fieldwork import targets

    def broken(user, filename, data):
        targets.import_targets(user, filename, data)  # writes, then breaks before the commit
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(targets, "import_targets", broken)
    auth.login("county")
    res = post_import(client, many_targets(200))
    body = res.get_data(as_text=True)
    assert "Traceback" not in body and "disk on fire" not in body
    assert json.loads(body.splitlines()[-1]) == {
        "ok": False, "message": "Something went wrong on our side; nothing was changed.", "errors": []}
    assert count(Target) == 0
