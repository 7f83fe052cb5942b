"""Spreadsheets in and out: read an uploaded .xlsx or .csv safely, map its headers, write
.xlsx with text kept as text."""
from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from casetrack.long_work import report
from casetrack.services.common.errors import ServiceError
from casetrack.services.common.text import printable

MAX_XLSX_ENTRIES = 500
MAX_COLUMNS = 100  # a sheet's declared width, a CSV row's fields, the cells one row may hold
MAX_ROW_TAGS = MAX_COLUMNS * 8  # a cell with an inline string is six tags
CHUNK = 1 << 20
# Where a row (or sheetData) begins and sheetData ends; with a prefix as the OpenXML SDK writes.
_PREFIX = rb"(?:[A-Za-z_][\w.-]{0,31}:)?"
_ROW_EDGE = re.compile(rb"<" + _PREFIX + rb"(?:row|sheetData)[\s/>]|</" + _PREFIX + rb"sheetData\s*>")
_KEEP = 64  # bytes carried to the next chunk so that a tag split between chunks is still seen


@dataclass(frozen=True)
class SheetLimits:
    """What one kind of import reads at most: data rows, columns it knows, bytes once unpacked."""
    rows: int
    width: int = 20
    unpacked: int = 32 * 1024 * 1024

    @property
    def positions(self) -> int:
        """Rows read by position, blank ones included: templates come with formatted empty rows."""
        return self.rows + 1 + max(self.rows, 10_000)

    @property
    def tags(self) -> int:
        """XML tags in the whole archive: about six a cell (inline strings), styles and notes besides."""
        return (self.rows + 1) * (self.width + 1) * 6 + 100_000


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


def read_rows(filename: str, data: bytes,
              limits: SheetLimits = SheetLimits(rows=1000)) -> list[tuple[int, list[Any]]]:
    """The non-empty rows of an uploaded .xlsx (first sheet) or .csv, each with its row number
    (1 = header); refused at the first row past `limits`, before the rest is read."""
    name = (filename or "").lower()
    if name.endswith(".csv"):
        return _kept(_csv_rows(data), limits, data.count(b"\n") + 1)
    if name.endswith(".xlsx"):
        return _xlsx_rows(data, limits)
    raise _refuse(_("Upload an Excel (.xlsx) or CSV (.csv) file."))


def _refuse(message: str) -> ImportFailed:
    return ImportFailed([{"row": None, "column": None, "message": message}])


def _too_many_rows(limits: SheetLimits) -> ImportFailed:
    return _refuse(_("At most %(n)d rows at once; split the file.", n=limits.rows))


def _too_wide() -> ImportFailed:
    return _refuse(_("The file is wider than %(n)d columns.", n=MAX_COLUMNS))


def _too_large() -> ImportFailed:
    return _refuse(_("The Excel file is too large once unpacked."))


def _kept(rows: Iterable[Sequence[Any]], limits: SheetLimits, total: int | None) -> list[tuple[int, list[Any]]]:
    """The non-empty rows with their numbers; stops at the first row past a limit. Reports the
    rows read of `total` (the lines of a CSV, the rows an .xlsx declares; None: unknown)."""
    kept: list[tuple[int, list[Any]]] = []
    number = 0
    for number, row in enumerate(rows, 1):
        report("reading", number, total)
        if number > limits.positions:
            raise _too_many_rows(limits)
        if any(cell_text(v) for v in row):
            kept.append((number, list(row)))
            if len(kept) > limits.rows + 1:  # the header and one row too many
                raise _too_many_rows(limits)
    report("reading", number, number)
    return kept


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # what Excel on Chinese Windows saves as plain CSV
        except UnicodeDecodeError:
            raise _refuse(_("The CSV file is neither UTF-8 nor GB18030 text.")) from None
    try:
        if "\x00" in text:  # no text column stores it (PostgreSQL refuses it even in a query)
            raise csv.Error("NUL character")
        for row in csv.reader(io.StringIO(text, newline="")):
            if len(row) > MAX_COLUMNS:
                if any(v.strip() for v in row[MAX_COLUMNS:]):
                    raise _too_wide()
                row = row[:MAX_COLUMNS]  # Excel's trailing separators of formatted empty cells
            yield row
    except csv.Error as exc:
        raise _refuse(_("The CSV file cannot be read: %(why)s.", why=str(exc))) from None


def _xlsx_rows(data: bytes, limits: SheetLimits) -> list[tuple[int, list[Any]]]:
    import openpyxl  # defusedxml is installed, so openpyxl parses the XML with it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_archive(archive, limits)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, ValueError, EOFError):
        # damaged: unknown zip versions or compression, encrypted entries, bad CRCs...
        raise _refuse(_("This is not an Excel (.xlsx) file.")) from None
    unreadable = _("This Excel file cannot be read; save it again as .xlsx.")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged or foreign file
        raise _refuse(unreadable) from None
    try:
        if not book.worksheets:  # a damaged workbook can list none
            raise _refuse(unreadable)
        sheet = book.worksheets[0]
        # the declared <dimension>: openpyxl pads every row to its width
        if (sheet.max_row or 0) > limits.positions:
            raise _too_many_rows(limits)
        if (sheet.max_column or 0) > MAX_COLUMNS:
            raise _too_wide()
        try:
            return _kept(sheet.iter_rows(max_row=limits.positions + 1,
                                         max_col=sheet.max_column or MAX_COLUMNS,
                                         values_only=True), limits, sheet.max_row)
        except ImportFailed:
            raise
        except Exception:  # a damaged row further down
            raise _refuse(unreadable) from None
    finally:
        book.close()


def _check_archive(archive: zipfile.ZipFile, limits: SheetLimits) -> None:
    """Refuse a bomb before openpyxl opens it: entries and unpacked size by the zip's directory,
    then the tags, rows and cells of a row by a streaming count (on opening, openpyxl parses a
    sheet without a <dimension> in full, and a row's cells all at once)."""
    entries = archive.infolist()
    if len(entries) > MAX_XLSX_ENTRIES or sum(e.file_size for e in entries) > limits.unpacked:
        raise _too_large()
    tags = rows = 0
    for entry in entries:
        span: int | None = None  # tags since this row (or sheetData) began; None outside sheetData
        with archive.open(entry) as stream:  # reads at most the declared file_size
            buf = b""
            while True:
                chunk = stream.read(CHUNK)
                buf += chunk
                end = max(len(buf) - _KEEP, 0) if chunk else len(buf)
                start = 0
                for edge in _ROW_EDGE.finditer(buf):
                    if edge.start() >= end:
                        break
                    if span is not None:
                        span += buf.count(b"<", start, edge.start())
                        if span > MAX_ROW_TAGS:
                            raise _too_wide()
                    start = edge.start()
                    span = None if edge.group().startswith(b"</") else 0
                    if edge.group().rstrip(b" \t\r\n/>").endswith(b"row"):
                        rows += 1
                        if rows > limits.positions:
                            raise _too_many_rows(limits)
                if span is not None:
                    span += buf.count(b"<", start, end)
                    if span > MAX_ROW_TAGS:
                        raise _too_wide()
                tags += buf.count(b"<", 0, end)
                if tags > limits.tags:
                    raise _too_large()
                buf = buf[end:]
                if not chunk:
                    break


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
               required: tuple[str, ...], max_rows: int, ignored: tuple[str, ...] = (),
               max_unpacked: int = 32 * 1024 * 1024) -> list[tuple[int, dict[str, Any]]]:
    """The data rows of an upload as {field: cell} with their row numbers; refuses a file
    without rows' headers, with bad headers, too many rows or (.xlsx) too large unpacked."""
    limits = SheetLimits(rows=max_rows, width=len(columns) + len(ignored), unpacked=max_unpacked)
    rows = read_rows(filename, data, limits)
    if not rows:
        raise ImportFailed([{"row": None, "column": None, "message": _("The file is empty.")}])
    where, errors = header_map(rows[0][1], columns, required, ignored)
    if errors:
        raise ImportFailed(errors)
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
