"""The bulletin as a Word document laid out after GB/T 9704-2012 (党政机关公文格式).

A4 with margins 37 / 35 / 28 / 26 mm; a red masthead (the type and the campaign), the number
(2026年第N期, 总第N期), the issuing office, the date and 签发, a red rule; the text in 仿宋_GB2312
三号 with 黑体 and 楷体_GB2312 headings; the figures' tables; the 版记 (主送 / 抄送 / 印发) between
rules; page numbers "— 1 —". Fonts are named as the standard names them; the font table gives
each a Noto CJK alternative (w:altName) for machines without them. Charts stay in the page and
the workbook: the document carries their tables.
"""
from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask_babel import gettext as _
from lxml import etree

from casetrack.services.reports.bulletin_issues import masthead_title, number_line
from casetrack.services.common.text import printable
from casetrack.services.reports.chart_images import chart_png

TITLE, BODY, HEADING, SUBHEADING = "方正小标宋简体", "仿宋_GB2312", "黑体", "楷体_GB2312"
FALLBACK = {TITLE: "Noto Serif CJK SC", BODY: "Noto Serif CJK SC", HEADING: "Noto Sans CJK SC",
            SUBHEADING: "Noto Serif CJK SC"}
RED = "FF0000"
NUMERALS = "一二三四五六七八九十"


def chinese_date(day: str) -> str:
    d = date.fromisoformat(day)
    return f"{d.year}年{d.month}月{d.day}日"


def _font(run, name: str, size: float, bold: bool = False, color: str | None = None) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)
    if color:
        run.font.color.rgb = RGBColor.from_string(color)


def _rule(paragraph, color: str, where: str = "bottom", size: int = 12) -> None:
    """A line under (or over) the paragraph: the red rule below the masthead, the 版记's rules."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    borders = paragraph._p.get_or_add_pPr().find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        paragraph._p.get_or_add_pPr().append(borders)
    line = OxmlElement(f"w:{where}")
    for key, value in (("w:val", "single"), ("w:sz", str(size)), ("w:space", "1"), ("w:color", color)):
        line.set(qn(key), value)
    borders.append(line)


def _para(doc, text: str = "", font: str = BODY, size: float = 16, align=None, bold=False, color=None,
          indent: bool = False):
    from docx.shared import Pt
    p = doc.add_paragraph()
    if align is not None:
        p.alignment = align
    p.paragraph_format.space_after = Pt(0)
    if indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)
    if text:
        _font(p.add_run(printable(text)), font, size, bold, color)
    return p


def _page_numbers(section) -> None:
    """"— 1 —" centred in the footer (a PAGE field between dashes), in 宋体 四号."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(p.add_run("— "), "宋体", 14)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    p._p.append(field)
    _font(p.add_run(" —"), "宋体", 14)


def _fallback_fonts(doc) -> None:
    """Declare the standard's fonts in the font table with a Noto CJK alternative each."""
    part = next(p for p in doc.part.package.iter_parts() if p.partname == "/word/fontTable.xml")
    root = etree.fromstring(part.blob)
    ns = root.nsmap["w"]
    for name, alt in FALLBACK.items():
        font = etree.SubElement(root, f"{{{ns}}}font", {f"{{{ns}}}name": name})
        etree.SubElement(font, f"{{{ns}}}altName", {f"{{{ns}}}val": alt})
        etree.SubElement(font, f"{{{ns}}}charset", {f"{{{ns}}}val": "86"})   # GB2312
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def to_docx(figures: dict[str, Any], tables: list, charts: list[dict[str, Any]],
            photos: list[tuple[dict[str, Any], bytes, bytes]] = ()) -> bytes:
    """The official document of an issue (or of the current figures, marked unpublished), with
    its tables, its charts as pictures and its photo pairs (整改前 / 整改后) side by side."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = doc.styles["Normal"]
    normal.font.name = BODY
    normal.font.size = Pt(16)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), BODY)
    _fallback_fonts(doc)
    _page_numbers(section)
    center, right = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT

    _para(doc, masthead_title(figures), TITLE, 36, center, color=RED)
    _para(doc, number_line(figures), BODY, 16, center)
    office = _para(doc, figures["unit"]["name"], BODY, 16)
    office.paragraph_format.tab_stops.add_tab_stop(section.page_width - section.left_margin - section.right_margin,
                                                   WD_TAB_ALIGNMENT.RIGHT)
    _font(office.add_run("\t" + chinese_date(figures.get("published_on") or figures["to"])), BODY, 16)
    signer = _para(doc, _("Signed off by: %(name)s", name=figures.get("signed_by") or ""), BODY, 16, right)
    _rule(signer, RED, size=18)

    corrects = figures.get("corrects")
    if corrects:
        _para(doc, _("This issue corrects %(year)d, No. %(n)d.", year=corrects["year"], n=corrects["number"]),
              SUBHEADING, 16, indent=True)
    _para(doc, _("Period: %(start)s to %(end)s", start=chinese_date(figures["from"]),
                 end=chinese_date(figures["to"])), BODY, 16, indent=True)
    heading = 0
    for part in figures.get("narrative") or []:
        _para(doc, f"{NUMERALS[heading]}、{part['title']}", HEADING, 16, indent=True)
        heading += 1
        for line in part["text"].splitlines():
            if line.strip():
                _para(doc, line.strip(), BODY, 16, indent=True)
    if figures.get("typical"):
        _para(doc, f"{NUMERALS[heading]}、{_('Typical cases')}", HEADING, 16, indent=True)
        heading += 1
        for n, case in enumerate(figures["typical"], 1):
            _para(doc, f"（{NUMERALS[(n - 1) % 10]}）{case['title']}", SUBHEADING, 16, indent=True)
            _para(doc, f"{case['group']}，{case['category']}。{case['resolution']}", BODY, 16, indent=True)
    if photos:
        _para(doc, f"{NUMERALS[heading]}、{_('Before and after')}", HEADING, 16, indent=True)
        heading += 1
        for pair, before, after in photos:
            _photo_pair(doc, pair, before, after)
    _para(doc, _("Attached: the figures"), HEADING, 16, indent=True)
    for spec in charts:   # the page's charts, as pictures
        doc.add_picture(io.BytesIO(chart_png(spec)), width=Mm(150))
        doc.paragraphs[-1].alignment = center
    for t in tables:
        _para(doc, t.title, SUBHEADING, 14)
        if not t.rows:
            _para(doc, _("None."), BODY, 12)
            continue
        grid = doc.add_table(rows=1, cols=len(t.headers))
        grid.style = "Table Grid"
        for cell, header in zip(grid.rows[0].cells, t.headers):
            cell.text = printable(str(header))
            _font(cell.paragraphs[0].runs[0], HEADING, 10.5)
        for row in t.rows:
            for cell, value in zip(grid.add_row().cells, row):
                cell.text = "" if value is None else printable(str(value))
                _font(cell.paragraphs[0].runs[0], BODY, 10.5)

    _colophon(doc, figures)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _photo_pair(doc, pair: dict[str, Any], before: bytes, after: bytes) -> None:
    """A case's title, then its photo before and after in a two-cell row, each captioned."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm
    _para(doc, " · ".join(x for x in (pair["title"], pair.get("site"), pair.get("unit")) if x), SUBHEADING, 14)
    grid = doc.add_table(rows=2, cols=2)
    for n, (label, data) in enumerate(((_("Before rectification"), before), (_("After rectification"), after))):
        cell = grid.rows[0].cells[n].paragraphs[0]
        cell.alignment = WD_ALIGN_PARAGRAPH.CENTER
        cell.add_run().add_picture(io.BytesIO(data), width=Mm(70))
        caption = grid.rows[1].cells[n].paragraphs[0]
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(caption.add_run(label), HEADING, 12)


def _colophon(doc, figures: dict[str, Any]) -> None:
    """The 版记: 主送 and 抄送 lines, then the printing office and date, between black rules."""
    from docx.enum.text import WD_TAB_ALIGNMENT
    circulation = figures.get("circulation") or {}
    _para(doc)
    lines = []
    if circulation.get("main_to"):
        lines.append(_para(doc, _("To: %(units)s", units=circulation["main_to"]), BODY, 14))
    if circulation.get("copy_to"):
        lines.append(_para(doc, _("Copy to: %(units)s", units=circulation["copy_to"]), BODY, 14))
    printed = _para(doc, circulation.get("printed_by") or figures["unit"]["name"], BODY, 14)
    section = doc.sections[0]
    printed.paragraph_format.tab_stops.add_tab_stop(section.page_width - section.left_margin - section.right_margin,
                                                    WD_TAB_ALIGNMENT.RIGHT)
    _font(printed.add_run("\t" + _("Printed and issued on %(day)s",
                                   day=chinese_date(figures.get("published_on") or figures["to"]))), BODY, 14)
    lines.append(printed)
    _rule(lines[0], "000000", "top", 8)
    _rule(printed, "000000", "bottom", 8)
