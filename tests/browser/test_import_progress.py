"""A large sheet imported from the page shows how far it has come, then what it did (issue 28)."""
from __future__ import annotations

from tests.test_targets import csv_bytes

ROWS = 5000
# Every text the step line was given, from the mutation records: the lines a busy server sends in
# one chunk are shown one after another in one task, which a read of the text when the observer
# runs would see only the last of.
WATCH = """() => { window.seen = [];
  new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach((n) => window.seen.push(n.textContent))))
    .observe(document.getElementById('import-step'), {childList: true}); }"""


def test_a_large_import_shows_its_progress_then_what_it_did(session):
    team = session("team1", width=360, height=740)
    team.go("/targets/import")
    rows = [["农户", f"进度户{i}", f"进度组{i}号", "进度村", "G1", "", f"P{i:05d}"] for i in range(ROWS)]
    sheet = csv_bytes(rows)
    assert len(sheet) > 65536  # past the size from which the page streams
    team.page.set_input_files("input[type=file]", files=[{"name": "名单.csv", "buffer": sheet,
                                                          "mimeType": "text/csv"}])
    team.page.evaluate(WATCH)
    team.page.click("main form button[type=submit]")
    outcome = team.page.wait_for_selector("#import-outcome.success", timeout=60_000)
    assert f"导入走访对象 {ROWS} 个" in outcome.inner_text()
    seen = team.page.evaluate("window.seen")
    assert any(text.startswith("正在检查行 ") and text.endswith(f"/ {ROWS}") for text in seen), seen
    assert any(text.startswith("正在上传文件 ") for text in seen), seen
    assert team.page.is_hidden("#import-progress")
    team.shot("import-progress-360")
    with team.page.expect_navigation():
        team.page.click("#import-outcome a")
    assert team.page.url.endswith("/targets")

    # a bad row: listed under the message, nothing imported
    rows[10] = ["飞船", "外星户", "", "", "G1", "", "X1"]
    rows = [[*r[:6], f"Q{i:05d}" if i != 10 else "X1"] for i, r in enumerate(rows)]
    team.go("/targets/import")
    team.page.set_input_files("input[type=file]", files=[{"name": "名单.csv", "buffer": csv_bytes(rows),
                                                          "mimeType": "text/csv"}])
    team.page.click("main form button[type=submit]")
    team.page.wait_for_selector("#import-outcome.error", timeout=60_000)
    assert "12" in team.page.inner_text("#import-errors tbody tr:first-child td:first-child")
    assert "类型" in team.page.inner_text("#import-errors tbody")
