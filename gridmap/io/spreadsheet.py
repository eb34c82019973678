"""Workbooks as offices keep them (.xlsx, .xls, .ods) → a :class:`~gridmap.io.sources.RawTable`.

One sheet is read: the one named by ``--sheet`` (a name, or a number from 1), else the only
visible sheet with data; :mod:`gridmap.io.sheet_table` then finds its header and rows. Password
protection, damaged files and a workbook saved under the wrong suffix get a message, never a
traceback.

Reading is python-calamine (the Rust calamine library): one well-kept reader for xlsx, xls and
ods. Measured on the project's 2-core machines with a 100,000-row roster (12 columns, 5 MB
.xlsx): calamine reads the sheet in about 1.1 s, openpyxl's read-only mode in 8.1 s; the whole
read into a table of text (header, merges, skipped rows) takes about twice calamine's time.
"""

from __future__ import annotations

import zipfile
from collections.abc import Collection
from pathlib import Path
from xml.etree import ElementTree

import python_calamine as calamine

from gridmap.errors import InputFileError
from gridmap.io.sheet_table import HEADER_SEARCH_ROWS, Merge, table_from_rows
from gridmap.io.sources import RawTable

# --- the workbook ----------------------------------------------------------------------------


def _password(path: Path) -> InputFileError:
    return InputFileError(
        f"工作簿 {path.name} 设有打开密码，无法读取。请在 Excel/WPS 中打开，"
        "在“文件 → 信息 → 保护工作簿”中删除密码后另存，再导入。",
        f"The workbook {path.name} is password-protected. Open it in Excel or WPS, remove the "
        "password (File → Info → Protect Workbook), save it and load it again.",
    )


def _unreadable(path: Path, exc: Exception) -> InputFileError:
    return InputFileError(
        f"无法读取工作簿 {path.name}：文件已损坏、不完整或不是 Excel/ODS 工作簿。"
        "请在 Excel/WPS 中打开并另存为 .xlsx 后重试。",
        f"Cannot read the workbook {path.name}: damaged, incomplete or not an Excel/ODS "
        f"workbook. Open it in Excel or WPS, save it as .xlsx and try again. ({exc})",
    )


def _is_encrypted(path: Path) -> bool:
    """An OLE container holding an encrypted Office package (how Excel stores a password)."""
    data = path.read_bytes()
    return data.startswith(b"\xd0\xcf\x11\xe0") and "EncryptedPackage".encode("utf-16-le") in data


def _check_unpacked_size(path: Path, max_bytes: int) -> None:
    """A workbook is a zip: refuse one that would unpack to more than the upload limit."""
    if not zipfile.is_zipfile(path):
        return
    with zipfile.ZipFile(path) as zf:
        total = sum(info.file_size for info in zf.infolist())
    if total > max_bytes:
        raise InputFileError(
            f"工作簿 {path.name} 解压后超过 {max_bytes // 2**20} MB，请分批导入。",
            f"The workbook {path.name} unpacks to more than {max_bytes // 2**20} MB; split it.",
        )


def _open(path: Path) -> tuple[calamine.CalamineWorkbook, list[str]]:
    """The workbook, by its suffix or else by its content (an .xls saved as .xlsx …)."""
    if _is_encrypted(path):
        raise _password(path)
    try:
        return calamine.CalamineWorkbook.from_path(str(path)), []
    except calamine.PasswordError as exc:
        raise _password(path) from exc
    except Exception as first:  # calamine raises several types for damaged files
        try:
            with path.open("rb") as f:
                book = calamine.CalamineWorkbook.from_filelike(f)
        except calamine.PasswordError as exc:
            raise _password(path) from exc
        except Exception:
            raise _unreadable(path, first) from first
    return book, [
        f"{path.name} 的内容与扩展名 {path.suffix} 不符，已按实际格式读取 / the content does "
        f"not match the suffix {path.suffix}; read as what it is"
    ]


ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"


def ods_header_merges(path: Path, sheet: str, rows: int = HEADER_SEARCH_ROWS + 5) -> list[Merge] | None:  # fmt: skip
    """The merged cells of an ODS sheet's first ``rows`` rows, where its header is (calamine
    tells merges of xlsx and xls only); ``None`` when the file cannot say.

    Merges further down (a 所在党组织 merged over its members) are not read: a 100,000-row
    sheet would be parsed twice for them.
    """
    t = ODS_TABLE
    merges: list[Merge] = []
    row, col, inside = 0, 0, False
    try:
        with zipfile.ZipFile(path) as zf, zf.open("content.xml") as f:
            for event, el in ElementTree.iterparse(f, events=("start", "end")):
                if el.tag == t + "table":
                    if event == "start":
                        inside = el.get(t + "name") == sheet
                    elif inside:
                        break
                elif not inside:
                    continue
                elif el.tag == t + "table-row":
                    if event == "start":
                        col = 0
                        continue
                    row += int(el.get(t + "number-rows-repeated", "1"))
                    el.clear()
                    if row >= rows:
                        break
                elif event == "end" and el.tag in (t + "table-cell", t + "covered-table-cell"):
                    across = int(el.get(t + "number-columns-spanned", "1"))
                    down = int(el.get(t + "number-rows-spanned", "1"))
                    if across > 1 or down > 1:
                        merges.append(((row, col), (row + down - 1, col + across - 1)))
                    col += int(el.get(t + "number-columns-repeated", "1"))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError):
        return None
    return merges


def _has_data(sheet: calamine.CalamineSheet) -> bool:
    return any(any(v not in ("", None) for v in row) for row in sheet.iter_rows())


def _sheet_list(book: calamine.CalamineWorkbook, loaded: dict) -> str:
    parts = []
    for i, meta in enumerate(book.sheets_metadata, start=1):
        notes = []
        if meta.visible != calamine.SheetVisibleEnum.Visible:
            notes.append("隐藏 hidden")
        if meta.name in loaded and not loaded[meta.name]:
            notes.append("空 empty")
        parts.append(f"{i}. {meta.name}" + (f" ({', '.join(notes)})" if notes else ""))
    return "; ".join(parts)


def choose_sheet(book: calamine.CalamineWorkbook, sheet: str | None, filename: str) -> tuple[calamine.CalamineSheet, list[str]]:  # fmt: skip
    """The sheet named (or numbered from 1) by ``sheet``; without it, the only visible sheet with
    data. Several such sheets are refused with their list."""
    names = book.sheet_names
    if sheet is not None:
        chosen = sheet if sheet in names else None
        if chosen is None and sheet.strip().isdigit() and 1 <= int(sheet) <= len(names):
            chosen = names[int(sheet) - 1]
        if chosen is None:
            raise InputFileError(
                f"工作簿 {filename} 中没有工作表 “{sheet}”。工作表: {_sheet_list(book, {})}。"
                "用 --sheet 名称 或 --sheet 序号 (从 1 起) 指定。",
                f"The workbook {filename} has no sheet '{sheet}'. Sheets: "
                f"{_sheet_list(book, {})}. Give --sheet NAME or --sheet NUMBER (from 1).",
            )
        return book.get_sheet_by_name(chosen), []
    visible = [
        m.name
        for m in book.sheets_metadata
        if m.visible == calamine.SheetVisibleEnum.Visible
        and m.typ == calamine.SheetTypeEnum.WorkSheet
    ]
    sheets = {name: book.get_sheet_by_name(name) for name in visible}
    loaded = {name: _has_data(s) for name, s in sheets.items()}
    with_data = [name for name, full in loaded.items() if full]
    if len(with_data) == 1:
        name = with_data[0]
        note = f"读取工作表 “{name}” (唯一有数据的工作表) / read sheet '{name}', the only one with data"
        return sheets[name], [note] if len(names) > 1 else []
    if not with_data:
        raise InputFileError(
            f"工作簿 {filename} 的可见工作表中没有数据。工作表: {_sheet_list(book, loaded)}。"
            "如数据在隐藏的工作表中，请用 --sheet 指定。",
            f"No visible sheet of {filename} holds data. Sheets: {_sheet_list(book, loaded)}. "
            "If the data is on a hidden sheet, name it with --sheet.",
        )
    raise InputFileError(
        f"工作簿 {filename} 有多个有数据的工作表: {_sheet_list(book, loaded)}。"
        "请用 --sheet 名称 或 --sheet 序号 (从 1 起) 指定要导入的工作表。",
        f"The workbook {filename} has several sheets with data: {_sheet_list(book, loaded)}. "
        "Choose one with --sheet NAME or --sheet NUMBER (from 1).",
    )


def read_spreadsheet(
    path: Path,
    *,
    sheet: str | None = None,
    known: Collection[str] = frozenset(),
    max_unzipped_bytes: int | None = None,
) -> RawTable:
    """Read one sheet of a workbook: header found, merges filled, totals and blanks skipped.

    ``known`` are normalised headers of the layer (:func:`known_headers`) that guide the search
    for the header row. Raises :class:`InputFileError` for password-protected, damaged or
    ambiguous workbooks (several sheets with data and no ``sheet``).
    """
    if max_unzipped_bytes is not None:
        _check_unpacked_size(path, max_unzipped_bytes)
    book, warnings = _open(path)
    with book:
        try:
            chosen, notes = choose_sheet(book, sheet, path.name)
            rows = chosen.to_python(skip_empty_area=False)
            merges = chosen.merged_cell_ranges
            if merges is None and zipfile.is_zipfile(path):  # ODS: from its XML
                merges = ods_header_merges(path, chosen.name)
        except InputFileError:
            raise
        except Exception as exc:  # damaged sheet XML: calamine's own error types
            raise _unreadable(path, exc) from exc
    if not any(any(v not in ("", None) for v in row) for row in rows):
        raise InputFileError(
            f"工作表 {chosen.name} 是空的。", f"The sheet {chosen.name} of {path.name} is empty."
        )
    try:
        frame, numbers, skipped = table_from_rows(rows, merges, known)
    except InputFileError as exc:  # say which sheet of which file
        raise InputFileError(
            f"{path.name} 工作表 “{chosen.name}”: {exc.message_zh}",
            f"{path.name}, sheet '{chosen.name}': {exc.message_en}",
        ) from exc
    return RawTable(
        frame=frame,
        geometry=None,
        crs=None,
        row_numbers=numbers,
        encoding=None,
        source_name=path.name,
        warnings=warnings + notes + skipped,
    )
