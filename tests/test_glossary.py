"""The county office's own words (docs/glossary.md) on every page, label and document."""
from __future__ import annotations

import re

import yaml
from babel.messages.pofile import read_po

from casetrack.config import ROOT
from casetrack.i18n import TRANSLATIONS


def glossary() -> list[tuple[str, str, list[str]]]:
    """(Chinese term, English term, words not to use) per row of the glossary's table."""
    rows = []
    for line in (ROOT / "docs/glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("中文", "---") and not set(cells[0]) <= {"-"}:
            rows.append((cells[0], cells[1], [w for w in re.split(r"[,、 ]+", cells[4]) if w]))
    return rows


def chinese_texts() -> list[tuple[str, str]]:
    """(where, text) of every Chinese msgstr and every zh label of the workflow files."""
    out = []
    with (TRANSLATIONS / "zh_Hans/LC_MESSAGES/messages.po").open("rb") as f:
        for m in read_po(f):
            for s in (m.string if m.pluralizable else [m.string]):
                if m.id and s:
                    out.append((f"msgid {m.id!r}", s))

    def labels(node, where):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "zh" and isinstance(v, str):
                    out.append((where, v))
                else:
                    labels(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                labels(v, f"{where}[{i}]")

    for path in sorted((ROOT / "workflows").glob("*.yaml")):
        labels(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    return out


def test_the_glossary_names_each_concept_once():
    rows = glossary()
    assert len(rows) > 25
    terms = [zh for zh, _en, _not in rows]
    assert len(terms) == len(set(terms))
    avoided = {w for _zh, _en, words in rows for w in words}
    assert not avoided & set(terms)


def test_no_chinese_text_uses_a_word_the_glossary_avoids():
    bad = [(where, text, word) for where, text in chinese_texts()
           for _zh, _en, words in glossary() for word in words if word in text]
    assert bad == []


def test_a_glossary_term_in_english_is_its_chinese_term():
    """A UI string that is exactly a glossary term ('Rate', 'Closed') reads as the glossary says."""
    terms = {en.lower(): zh for zh, en, _not in glossary()}
    with (TRANSLATIONS / "zh_Hans/LC_MESSAGES/messages.po").open("rb") as f:
        wrong = [(m.id, m.string, terms[m.id.lower()]) for m in read_po(f)
                 if isinstance(m.id, str) and m.id.lower() in terms and m.string != terms[m.id.lower()]]
    assert wrong == []
