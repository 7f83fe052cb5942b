"""Use cases on the organisation: units and categories."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Category, Unit
from casetrack.services.common.errors import ValidationFailed
from casetrack.services.common.text import text_error
from casetrack.workflow import UNIT_KINDS

# Which kind of unit may sit under which; a city or province may be added above a county.
PARENT_KINDS = {
    "province": (None,),
    "city": (None, "province"),
    "county": (None, "city", "province"),
    "department": ("county", "city", "province"),
    "team": ("county",),
    "group": ("team",),
    "inspection": ("county", "city", "province"),
}

# The categories of DOMAIN.md: (code, 中文, English).
CATEGORIES = [
    ("land", "征地拆迁", "Land acquisition and demolition"),
    ("restructuring", "企业改制", "Enterprise restructuring"),
    ("environment", "环境污染", "Environmental pollution"),
    ("food_drug", "食品药品安全", "Food and drug safety"),
    ("social_security", "社会保障", "Social security"),
    ("rural_health", "农村卫生医疗", "Rural health care"),
    ("housing", "住房", "Housing"),
    ("medical", "医疗", "Medical care"),
    ("education", "教育", "Education"),
    ("employment", "就业", "Employment"),
    ("elderly_care", "养老", "Elderly care"),
    ("market", "市场管理", "Market management"),
    ("sanitation", "环境卫生", "Sanitation"),
    ("overhead_wires", "空中飞线", "Overhead wires"),
    ("compound", "小区治理", "Residential-compound governance"),
    ("public_security", "社会治安", "Public security"),
    ("collective_economy", "村集体经济", "Village collective economy"),
    ("petition", "信访积案", "Long-standing petitions"),
    ("infrastructure", "道路水利设施", "Roads, water and other infrastructure"),
    ("other", "其他", "Other"),
]


def unit_by_code(code: str, errors: dict[str, str], field: str) -> Unit | None:
    """The unit of that code, or None with "No such unit." noted in errors[field]."""
    unit = db.session.scalars(select(Unit).where(Unit.code == code)).first()
    if unit is None:
        errors[field] = _("No such unit.")
    return unit


def create_unit(code: str, name: str, kind: str, parent_code: str | None = None) -> Unit:
    errors: dict[str, str] = {}
    if not code or len(code) > 40 or not code.replace("_", "").replace("-", "").isalnum():
        errors["code"] = _("Letters, digits, '-' and '_' only, at most 40.")
    elif db.session.scalars(select(Unit).where(Unit.code == code)).first():
        errors["code"] = _("This code is taken.")
    if not name or len(name) > 120:
        errors["name"] = _("Please fill this in.")
    elif problem := text_error(name):
        errors["name"] = problem
    parent = None
    if parent_code:
        parent = unit_by_code(parent_code, errors, "parent")
    if kind not in UNIT_KINDS:
        errors["kind"] = _("No such kind of unit.")
    elif "parent" not in errors and (parent.kind if parent else None) not in PARENT_KINDS[kind]:
        errors["parent"] = _("A unit of this kind cannot sit there.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    unit = Unit(code=code, name=name, kind=kind, parent=parent, path="")
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    db.session.flush()
    return unit


def active_categories() -> list[Category]:
    """The categories offered when filing, in their order."""
    return list(db.session.scalars(select(Category).where(Category.active.is_(True))
                                   .order_by(Category.position, Category.id)))


def ensure_categories() -> int:
    """Add the standard categories that are missing; returns how many were added."""
    known = set(db.session.scalars(select(Category.code)))
    added = 0
    for position, (code, zh, en) in enumerate(CATEGORIES):
        if code not in known:
            db.session.add(Category(code=code, name_zh=zh, name_en=en, position=position))
            added += 1
    db.session.flush()
    return added


def set_active(row: Unit | Category, active: bool) -> Unit | Category:
    """Retire a unit or hide a category (new work no longer reaches it; its cases keep it),
    or bring it back."""
    row.active = active
    db.session.flush()
    return row


def create_category(code: str, name_zh: str, name_en: str) -> Category:
    errors: dict[str, str] = {}
    code = (code or "").strip()
    if not code or len(code) > 40 or not code.replace("_", "").isalnum():
        errors["code"] = _("Letters, digits and '_' only, at most 40.")
    elif db.session.scalars(select(Category).where(Category.code == code)).first():
        errors["code"] = _("This code is taken.")
    for name, value, limit in (("name_zh", name_zh, 60), ("name_en", name_en, 80)):
        if not (value or "").strip():
            errors[name] = _("Please fill this in.")
        elif len(value.strip()) > limit:
            errors[name] = _("At most %(n)d characters.", n=limit)
        elif problem := text_error(value.strip()):
            errors[name] = problem
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    position = db.session.scalar(select(func.coalesce(func.max(Category.position), 0))) + 1
    category = Category(code=code, name_zh=name_zh.strip(), name_en=name_en.strip(),
                        position=position)
    db.session.add(category)
    db.session.flush()
    return category


def units_page(kind: str | None, q: str | None, after: str | None,
               size: int) -> tuple[list[Unit], str | None, int]:
    """One page of the unit tree in its order (or of one kind), matching q in code or name,
    after the unit coded `after`; the next page's cursor (a code) and how many match in all."""
    stmt = select(Unit)
    if kind:
        stmt = stmt.where(Unit.kind == kind)
    if q:
        stmt = stmt.where(Unit.code.contains(q, autoescape=True) | Unit.name.contains(q, autoescape=True))
    total = db.session.scalar(stmt.with_only_columns(func.count(Unit.id))) or 0
    if after:
        stmt = stmt.where(Unit.path > select(Unit.path).where(Unit.code == after).scalar_subquery())
    rows = list(db.session.scalars(stmt.order_by(Unit.path).limit(size + 1)))
    return (rows[:size], rows[size - 1].code, total) if len(rows) > size else (rows, None, total)
