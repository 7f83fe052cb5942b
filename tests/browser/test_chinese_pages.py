"""No English on a Chinese page (issue 22): every page without arguments and the page of a case in
each state, as each role, in a zh-CN browser. What the user can read (the text, the options of the
lists, placeholders, the tab's title) is searched for English words of the UI catalogue; data
(names, codes, numbers, dates, addresses shown as code) and the language switch's own "English"
are left out."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from casetrack import create_app
from casetrack.config import ROOT
from casetrack.extensions import db
from casetrack.i18n import TRANSLATIONS
from casetrack.services.workdays import calendar
from casetrack.services.deadlines.extension_requests import decide_extension, request_extension
from casetrack.services.casework.notices import acknowledge, add_supervision_note
from casetrack.services.casework.progress import add_progress, record_feedback
from casetrack.services.casework.shared import link_cases, unlink_case
from casetrack.services.deadlines.sweep import sweep_deadlines
from tests.browser.conftest import Session
from tests.browser.test_phone_width import pages
from tests.factories import USERS, build_world
from tests.helpers import PATHS, act, case_in, serving

THIRD_PARTY = ("/api/docs",)   # Swagger UI's own words, in English only
ROLES = ("group1", "member1", "team1", "county", "dept1", "dept2", "admin")

# What the user reads: the page's text with every folded part open, what a list offers, what an
# empty field suggests; apart: code (API paths), what was typed into a text box (a template's
# text) and what is marked as English (the language switch, a category's English name).
READ = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('code, pre, textarea, [lang=en]').forEach(e => e.remove());
  const extra = [...document.querySelectorAll('option')].map(o => o.textContent)
    .concat([...document.querySelectorAll('[placeholder]')].map(e => e.getAttribute('placeholder')));
  return [document.title, document.body.innerText, ...extra].join('\\n');
}"""


def catalogue_words() -> set[str]:
    """The English words of the UI: every msgid of the Chinese catalogue and every English label
    of the workflow files, split into words."""
    from babel.messages.pofile import read_po
    with (TRANSLATIONS / "zh_Hans/LC_MESSAGES/messages.po").open("rb") as f:
        texts = [i for m in read_po(f) for i in (m.id if m.pluralizable else [m.id]) if i]

    def english_labels(node) -> None:
        if isinstance(node, dict):
            texts.extend(v for k, v in node.items() if k == "en" and isinstance(v, str))
            node = list(node.values())
        if isinstance(node, list):
            for child in node:
                english_labels(child)
    for path in (ROOT / "workflows").glob("*.yaml"):
        english_labels(yaml.safe_load(path.read_text(encoding="utf-8")))
    words: set[str] = set()
    for text in texts:
        text = re.sub(r"%\(\w+\)[sd]|%[sd]|\{\w+\}", " ", text)
        words |= {w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)}
    return words


# Usernames are the test world's names; the rest are names a Chinese page writes in Latin letters.
DATA = {name.lower() for name in USERS} | {"casetrack", "api", "webhook", "excel", "word", "json", "csv",
                                           "html", "wgs"}


def english(text: str, words: set[str]) -> list[str]:
    """The catalogue's English words in a page's text, once data is set aside: a token with a
    digit, a slash, a dot, a colon or @ is a code, a path or an address (G1, dept1, /api/v1,
    a@b.cn), one with a hyphen inside a command or a header name (deliver-webhooks)."""
    found = []
    for token in re.findall(r"[A-Za-z0-9_./:@%#?=&+-]+", text):
        if re.search(r"[0-9/.@:]|\w-\w", token):
            continue
        for word in re.findall(r"[A-Za-z]{3,}", token):
            if word.lower() in words and word.lower() not in DATA:
                found.append(word)
    return found


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """A server whose county has a case in every state of the workflow, with the notes, requests,
    reports and notices that come with them; yields (base URL, {state: case id})."""
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('zh') / 'zh.db'}",
                      "SECRET_KEY": "zh-pages", "WTF_CSRF_ENABLED": True,
                      "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}})
    with app.app_context():
        db.create_all()
        world = build_world()
        u = world.users
        with calendar.at(datetime.now(timezone.utc) - timedelta(days=40)):
            late = case_in(world, "department")   # owes progress reports by today
            slow = world.file("group2")             # overdue with its group by today
        cases = {state: case_in(world, state) for state in PATHS}
        cases.update(late=late, slow=slow)
        sweep_deadlines()
        dept = cases["department"]
        add_progress(u["dept1"], dept, "已派人现场查看")
        acknowledge(u["dept1"], add_supervision_note(u["county"], dept, "请加快办理").id)
        add_supervision_note(u["county"], dept, "请本周内办结")
        cases["asked"] = case_in(world, "team")
        request_extension(u["team1"], cases["asked"], 5, "需要协调资金")
        cases["granted"] = case_in(world, "team")
        decide_extension(u["county"], request_extension(u["team1"], cases["granted"], 3, "雨季施工"), True, "同意")
        record_feedback(u["group1"], cases["closed"], "已电话告知张三", "phone")
        cases["assisted"] = case_in(world, "county")
        act(world, cases["assisted"], "county", "refer", departments=["D2"])
        members = [world.file().id, world.file("group2").id, world.file("group2").id]
        cases["shared"] = link_cases(u["team1"], "三个组共同反映村道坑洼", members)
        unlink_case(u["team1"], cases["shared"], members[2])
        ids = {state: c.id for state, c in cases.items()}
        db.session.commit()
        db.session.remove()
    with serving(app) as base:
        yield base, ids
    with app.app_context():
        db.engine.dispose()


def test_data_is_not_taken_for_english_and_a_ui_word_is():
    page = "#3 村道坑洼 · casetrack G001 dept1 group1 /api/v1/cases deliver-webhooks 办结 Resolve county"
    assert english(page, catalogue_words()) == ["Resolve"]


def test_no_english_word_of_the_ui_on_any_chinese_page(browser, county):
    base, ids = county
    words = catalogue_words()
    found: dict[str, set[str]] = {}

    def walk(s: Session, who: str, paths: list[str]) -> None:
        for path in paths:
            response = s.go(path)
            if response.status in (403, 404) or "html" not in response.headers.get("content-type", ""):
                continue   # not this role's page (the access matrix checks that), or not a page
            assert response.status == 200, (who, path, response.status)
            if english_words := english(s.page.evaluate(READ), words):
                found[f"{who} {path}"] = set(english_words)
        s.close()

    walk(Session(browser, base), "guest", ["/login"])
    paths = [p for p in pages() if p not in THIRD_PARTY] + [f"/cases/{i}" for i in ids.values()]
    for username in ROLES:
        walk(Session(browser, base).login(username), username, paths)
    assert found == {}
