"""Shared problems (共性问题): many reports linked into one parent case, handled once."""
from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from itertools import chain
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Category, Target, Unit, User
from casetrack.services.workdays.calendar import add_working_days, now, today
from casetrack.services.casework.cases import default_workflow, fire, get_case, scoped_cases, title_error, workflow_of
from casetrack.services.casework.follow_up import after_action
from casetrack.services.workdays.clock import start_clock
from casetrack.services.common.errors import Conflict, Forbidden, ValidationFailed
from casetrack.services.casework.notices import log_event, notify
from casetrack.services.figures import summaries
from casetrack.services.integration import webhooks
from casetrack.workflow import SharedRules, TransitionSpec, Workflow

# An n-gram found in more distinct texts than this says nothing about a problem.
COMMON_GRAM = 200


def _rules(wf: Workflow) -> SharedRules:
    if wf.shared is None:
        raise Conflict(_("This workflow has no shared problems."), "no_shared_problems")
    return wf.shared


def open_states(wf: Workflow) -> list[str]:
    """The states a case can be resolved from (by a transition that resolves a shared problem's
    members with it): where it is still being handled."""
    return sorted({s for t in wf.transitions if "resolve_members" in t.after for s in t.sources})


def members(parent: Case) -> list[Case]:
    """Every member case of a shared problem (for the system's own work, never for display)."""
    return list(db.session.scalars(select(Case).where(Case.parent_id == parent.id).order_by(Case.id)))


def visible_members(viewer: User, parent: Case) -> tuple[list[Case], int]:
    """(the member cases this viewer may see on their own, how many members there are in all):
    a shared problem is shown member by member, each by the viewer's own scope."""
    shown = list(db.session.scalars(scoped_cases(viewer).where(Case.parent_id == parent.id)
                                    .order_by(Case.id)))
    total = db.session.scalar(select(func.count()).where(Case.parent_id == parent.id))
    return shown, total


def _has_members():
    member = aliased(Case)
    return exists().where(member.parent_id == Case.id)


def link_cases(actor: User, title: Any, case_ids: Any) -> Case:
    """Link open cases into a new parent case held by the actor's unit; returns the parent.
    The parent lives at the level that linked it: its filing unit is the actor's team or county
    office, so no member's group can read the other members through it."""
    wf = default_workflow()
    rules = _rules(wf)
    if actor.role not in rules.link_roles or actor.unit is None:
        raise Forbidden(_("Only a team leader or the county office links cases."))
    errors: dict[str, str] = {}
    if problem := title_error(title):
        errors["title"] = problem
    if not isinstance(case_ids, list) or len(set(map(str, case_ids))) < 2 \
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in case_ids):
        errors["cases"] = _("At least two case numbers, please.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    cases = [get_case(actor, i) for i in dict.fromkeys(case_ids)]
    state = wf.level_state(actor.unit.kind)
    if state is None:
        raise Forbidden(_("Your unit does not handle cases."))
    for case in cases:
        if workflow_of(case) is not wf or case.state not in open_states(wf):
            errors[str(case.id)] = _("Only open cases can be linked.")
        elif case.parent_id is not None:
            errors[str(case.id)] = _("This case is already part of a shared problem.")
        elif db.session.scalar(select(_has_members()).where(Case.id == case.id)):
            errors[str(case.id)] = _("This case is itself a shared problem.")
    if errors:
        raise ValidationFailed(errors, _("Some cases cannot be linked."))

    category = Counter(c.category_id for c in cases).most_common(1)[0][0]
    with summaries.recount(cases=[c.id for c in cases]) as counted:   # each member's rows move
        parent = Case(title=title.strip(), kind="shared", category_id=category,
                      description=_("Shared problem of %(n)d cases.", n=len(cases)),
                      group=actor.unit, unit=actor.unit, state=state, workflow=wf.name,
                      workflow_version=wf.version, created_by=actor, created_at=now(),
                      found_on=min(c.found_on for c in cases), updated_at=now())
        days = wf.states[state].deadline_days
        parent.deadline = add_working_days(today(), days) if days else None
        start_clock(parent, wf)
        db.session.add(parent)
        db.session.flush()
        counted.new_cases([parent.id])
        linked = CaseEvent(case_id=parent.id, at=parent.created_at, actor_id=actor.id,
                           trigger="link", from_state=None, to_state=state, from_unit_id=None,
                           to_unit_id=actor.unit_id, data={"cases": [c.id for c in cases]})
        db.session.add(linked)
        webhooks.queue_events([linked])
        for case in cases:
            case.parent_id = parent.id
            log_event(case, actor, "link", {"parent": parent.id})
            notify("shared_problem", case, parent.title, unit=case.unit)
    return parent


def unlink_case(actor: User, parent: Case, case_id: Any) -> Case:
    """Take a case out of its shared problem, while the problem is not resolved yet."""
    wf = workflow_of(parent)
    if actor.role not in _rules(wf).link_roles:
        raise Forbidden(_("Only a team leader or the county office links cases."))
    if parent.state not in open_states(wf):
        raise Conflict(_("The shared problem is resolved; its cases stay linked."), "resolved")
    case = get_case(actor, case_id) if isinstance(case_id, int) else None
    if case is None or case.parent_id != parent.id:
        raise ValidationFailed({"case": _("This case is not part of the shared problem.")})
    with summaries.recount(cases=[case.id, parent.id]):
        case.parent_id = None
        start_clock(case, wf)
        log_event(case, actor, "unlink", {"parent": parent.id})
        log_event(parent, actor, "unlink", {"case": case.id})
    return case


@after_action("resolve_members")
def resolve_members(parent: Case, spec: TransitionSpec, values: dict[str, Any]) -> int:
    """The parent is resolved: each open member is resolved by the same trigger with the same
    required fields (not the money: it counts once, on the parent), by the system, so each
    reporter gets a call-back."""
    given = {name: values[name] for name in spec.required}
    done = 0
    for case in members(parent):
        if case.state in open_states(workflow_of(case)):
            fire(case, spec.trigger, None, **given)
            done += 1
    return done


# -- detection -----------------------------------------------------------------------------

_VILLAGE = re.compile(r"([\u4e00-\u9fff]{1,8}?[村社区])")
_NOT_TEXT = re.compile(r"[\W\d_a-zA-Z]+")


def village_of(target_village: str | None, address: str) -> str:
    """The village a case is about: its visit target's, else the one named in the address."""
    if target_village:
        return target_village
    match = _VILLAGE.search(re.split(r"[县镇乡]", address or "")[-1])
    return match.group(1) if match else ""


def ngrams(text: str, n: int) -> frozenset[str]:
    """Character n-grams of the Chinese text (punctuation, digits and Latin letters dropped)."""
    parts = [p for p in _NOT_TEXT.split(text) if p]
    return frozenset(p[i:i + n] for p in parts for i in range(max(len(p) - n + 1, 1)))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Sørensen–Dice coefficient of two n-gram sets (0: nothing shared, 1: the same)."""
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


@dataclass
class _Item:
    id: int
    group: str
    category: str
    village: str
    grams: frozenset[str]
    title: str


def proposals(actor: User) -> list[dict[str, Any]]:
    """Candidate shared problems in the actor's scope, each with the reasons its cases match.
    Nothing is linked: a person decides."""
    wf = default_workflow()
    rules = _rules(wf)
    if actor.role not in rules.link_roles:
        raise Forbidden(_("Only a team leader or the county office links cases."))
    det = rules.detection
    rows = db.session.execute(
        scoped_cases(actor).with_only_columns(
            Case.id, Case.title, Case.description, Case.resident_address, Unit.code, Category.code,
            Target.village)
        .join(Unit, Unit.id == Case.group_id).join(Category, Category.id == Case.category_id)
        .outerjoin(Target, Target.id == Case.target_id)
        .where(Case.state.in_(open_states(wf)), Case.parent_id.is_(None), Case.kind == "individual",
               Case.created_at >= now() - timedelta(days=det.within_days), ~_has_members())
        .order_by(Case.id)).all()
    buckets: dict[str, list[_Item]] = {}
    for cid, title, desc, address, group, category, village in rows:
        buckets.setdefault(category, []).append(_Item(
            cid, group, category, village_of(village, address) if "village" in det.match else "",
            ngrams(f"{title} {desc}", det.ngram) if "text" in det.match else frozenset(), title))
    found = []
    for items in buckets.values():
        found.extend(_clusters(items, det))
    return sorted(found, key=lambda p: (-len(p["cases"]), p["cases"][0]))


def _similar_pairs(items: list[_Item], threshold: float) -> list[tuple[int, int, float]]:
    """Pairs (i < j) of items whose n-grams have a Dice similarity >= threshold, in order. The
    n-grams each item shares with every later one are counted through an inverted index (n-gram
    -> the items that have it, in order), one Counter per item, which counts in C. An n-gram found
    in more than COMMON_GRAM texts is left out of the shared count: it says nothing about a problem."""
    postings: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        for gram in it.grams:
            postings.setdefault(gram, []).append(i)
    telling = {gram: ids for gram, ids in postings.items() if 1 < len(ids) <= COMMON_GRAM}
    sizes = [len(it.grams) for it in items]
    pairs: list[tuple[int, int, float]] = []
    for i, it in enumerate(items):
        later = [ids[bisect_right(ids, i):] for gram in it.grams
                 if (ids := telling.get(gram)) is not None and ids[-1] > i]
        if not later:
            continue
        size = sizes[i]
        pairs.extend(sorted((i, j, score) for j, n in Counter(chain.from_iterable(later)).items()
                            if (score := 2 * n / (size + sizes[j])) >= threshold))
    return pairs


def _clusters(items: list[_Item], det) -> list[dict[str, Any]]:
    parent = {it.id: it.id for it in items}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    why: dict[int, list[dict[str, Any]]] = {}
    by_village: dict[str, _Item] = {}
    for it in items:
        if it.village:
            first = by_village.setdefault(it.village, it)
            if first is not it and root(first.id) != root(it.id):
                why.setdefault(it.id, []).append({"cases": [first.id, it.id], "rule": "village",
                                                  "village": it.village})
                parent[root(it.id)] = root(first.id)
    def join(a: _Item, b: _Item, score: float) -> None:
        why.setdefault(b.id, []).append({"cases": [a.id, b.id], "rule": "text",
                                         "similarity": round(score, 2)})
        parent[root(b.id)] = root(a.id)

    # The same text (a form's wording) joins at once; distinct texts are compared in bulk.
    by_text: dict[frozenset[str], _Item] = {}
    distinct: list[_Item] = []
    for it in items:
        if not it.grams:
            continue
        first = by_text.setdefault(it.grams, it)
        if first is it:
            distinct.append(it)
        elif root(first.id) != root(it.id):
            join(first, it, 1.0)
    for a, b, score in _similar_pairs(distinct, det.text_similarity):
        if root(distinct[a].id) != root(distinct[b].id):
            join(distinct[a], distinct[b], score)
    clusters: dict[int, list[_Item]] = {}
    for it in items:
        clusters.setdefault(root(it.id), []).append(it)
    out = []
    for members_ in clusters.values():
        groups = sorted({m.group for m in members_})
        if len(members_) < det.min_cases or len(groups) < det.min_groups:
            continue
        reasons = [r for m in members_ for r in why.get(m.id, [])]
        villages = Counter(r["village"] for r in reasons if r["rule"] == "village").most_common(1)
        out.append({
            "cases": [m.id for m in members_], "category": members_[0].category, "groups": groups,
            "title": f"{villages[0][0]}：{members_[0].title}" if villages else members_[0].title,
            "reasons": reasons,
            "why": _explain(members_, groups, reasons, det),
        })
    return out


def _explain(items: list[_Item], groups: list[str], reasons: list[dict[str, Any]], det) -> str:
    """Why the cases were proposed, in the reader's language."""
    from casetrack.i18n import localized
    from casetrack.services.organisation.reference import current
    category = current().categories.get(items[0].category)
    name = localized({"zh": category.name_zh, "en": category.name_en}) if category else items[0].category
    parts = [_("%(num)d open cases of category %(category)s from groups %(groups)s within %(days)d days",
               num=len(items), category=name, groups=", ".join(groups), days=det.within_days)]
    villages = sorted({r["village"] for r in reasons if r["rule"] == "village"})
    if villages:
        parts.append(_("same village: %(villages)s", villages=", ".join(villages)))
    texts = [r for r in reasons if r["rule"] == "text"]
    if texts:
        parts.append(_("similar text (character %(n)d-grams, Dice ≥ %(similarity)s): %(pairs)s",
                       n=det.ngram, similarity=det.text_similarity,
                       pairs=", ".join(f"#{r['cases'][0]}~#{r['cases'][1]} {r['similarity']}" for r in texts)))
    return "; ".join(parts)
