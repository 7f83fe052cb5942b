"""Spreadsheets in and out: read an uploaded .xlsx or .csv safely, map its headers, write
.xlsx with text kept as text."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from casetrack.services.errors import ServiceError
from casetrack.services.text import printable

MAX_XLSX_ENTRIES = 500
MAX_XLSX_UNCOMPRESSED = 400 * 1024 * 1024


class ImportFailed(ServiceError):
    """An import refused as a whole; `errors` lists each bad row: {row, column, message}."""
    status = 422
    code = "invalid"

    def __init__(self, errors: list[dict[str, Any]], message: str | None = None):
        super().__init__(message or _("Nothing was imported: %(n)d problems in the file.",
                                      n=len(errors)))
        self.errors = errors


def cell_text(value: Any) -> str:
    """A cell or form value as trimmed text; 12345.0 from a spreadsheet reads as '12345'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def read_rows(filename: str, data: bytes) -> list[tuple[int, list[Any]]]:
    """The rows of an uploaded .xlsx (first sheet) or .csv, each with its row number (1 = header)."""
    name = (filename or "").lower()
    if name.endswith(".csv"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")  # what Excel on Chinese Windows saves as plain CSV
            except UnicodeDecodeError:
                raise ImportFailed([{"row": None, "column": None, "message": _(
                    "The CSV file is neither UTF-8 nor GB18030 text.")}]) from None
        try:
            if "\x00" in text:  # no text column stores it (PostgreSQL refuses it even in a query)
                raise csv.Error("NUL character")
            rows = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text, newline="")), 1)]
        except csv.Error as exc:
            raise ImportFailed([{"row": None, "column": None, "message": _(
                "The CSV file cannot be read: %(why)s.", why=str(exc))}]) from None
    elif name.endswith(".xlsx"):
        rows = _xlsx_rows(data)
    else:
        raise ImportFailed([{"row": None, "column": None,
                             "message": _("Upload an Excel (.xlsx) or CSV (.csv) file.")}])
    return [(n, row) for n, row in rows if any(cell_text(v) for v in row)]


def _xlsx_rows(data: bytes) -> list[tuple[int, list[Any]]]:
    import openpyxl  # defusedxml is installed, so openpyxl parses the XML with it

    def refuse(message: str) -> ImportFailed:
        return ImportFailed([{"row": None, "column": None, "message": message}])

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_XLSX_ENTRIES or \
                    sum(e.file_size for e in entries) > MAX_XLSX_UNCOMPRESSED:
                raise refuse(_("The Excel file is too large once unpacked."))
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError):  # damaged: unknown zip versions...
        raise refuse(_("This is not an Excel (.xlsx) file.")) from None
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged or foreign file
        raise refuse(_("This Excel file cannot be read; save it again as .xlsx.")) from None
    try:
        if not book.worksheets:  # a damaged workbook can list none
            raise refuse(_("This Excel file cannot be read; save it again as .xlsx."))
        sheet = book.worksheets[0]
        return [(n, list(row)) for n, row in enumerate(sheet.iter_rows(values_only=True), 1)]
    finally:
        book.close()


def header_map(header: list[Any], columns: dict[str, tuple[str, str]], required: tuple[str, ...],
               ignored: tuple[str, ...] = ()) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Which column holds which field; errors for unknown, repeated and missing columns.

    `columns` maps a field to its (Chinese header, English header); a Chinese header is also
    known without its bracketed hint, and with full-width brackets."""
    names = {alias.lower(): field for field, pair in columns.items() for alias in pair}
    names.update({pair[0].split("(")[0]: field for field, pair in columns.items()})
    where: dict[str, int] = {}
    errors = []
    for i, cell in enumerate(header):
        text = cell_text(cell).replace("（", "(").replace("）", ")").replace(" ", "")
        if not text or text in ignored:
            continue
        field = names.get(text.lower())
        if field is None:
            errors.append({"row": 1, "column": text, "message": _("Unknown column.")})
        elif field in where:
            errors.append({"row": 1, "column": text, "message": _("This column appears twice.")})
        else:
            where[field] = i
    for field in required:
        if field not in where:
            errors.append({"row": 1, "column": columns[field][0],
                           "message": _("This column is missing.")})
    return where, errors


def read_table(filename: str, data: bytes, columns: dict[str, tuple[str, str]],
               required: tuple[str, ...], max_rows: int,
               ignored: tuple[str, ...] = ()) -> list[tuple[int, dict[str, Any]]]:
    """The data rows of an upload as {field: cell} with their row numbers; refuses a file
    without rows' headers, with bad headers or with too many rows."""
    rows = read_rows(filename, data)
    if not rows:
        raise ImportFailed([{"row": None, "column": None, "message": _("The file is empty.")}])
    where, errors = header_map(rows[0][1], columns, required, ignored)
    if errors:
        raise ImportFailed(errors)
    if len(rows) - 1 > max_rows:
        raise ImportFailed([{"row": None, "column": None, "message": _(
            "At most %(n)d rows at once; split the file.", n=max_rows)}])
    return [(number, {field: row[i] if i < len(row) else None for field, i in where.items()})
            for number, row in rows[1:]]


def workbook(title: str, headers: list[str], rows, notes: list[list[Any]] | None = None) -> bytes:
    """An .xlsx: a bold, frozen header row, the rows, and an optional 说明 sheet."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for col, header in enumerate(headers, 1):
        cell = sheet.cell(row=1, column=col)
        set_text(cell, header)
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = 18
    sheet.freeze_panes = "A2"
    for r, values in enumerate(rows, 2):
        for c, value in enumerate(values, 1):
            set_text(sheet.cell(row=r, column=c), value)
    if notes:
        extra = book.create_sheet("说明")
        for r, line in enumerate(notes, 1):
            for c, value in enumerate(line, 1):
                set_text(extra.cell(row=r, column=c), value)
        extra.column_dimensions["A"].width = 24
        extra.column_dimensions["B"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def set_text(cell, value: Any) -> None:
    """Write a value as it is: text that looks like a formula (=, +, -, @) stays text, and a
    control character stored before input was checked becomes U+FFFD (openpyxl refuses it)."""
    value = printable(value)
    cell.value = value
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        cell.data_type = "s"
