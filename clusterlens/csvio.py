"""Read and write one CSV family: strict parsing with file:line:column errors, exact atomic writes;
and :func:`csv_text`, the one CSV format every clusterlens CSV file is written in.

Reading never stops at the first problem: every problem of a file is collected and returned, and
``read_family`` raises them together as one :class:`~clusterlens.errors.ModelError`.
Writing is byte-stable: canonical column order, floats as the shortest repr that round-trips,
blank cells for unused columns, ``\\n`` line endings, written atomically (:mod:`clusterlens.atomic`).
"""
from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pandas as pd
from pydantic import ValidationError

from . import atomic, suggest, table_view
from .cell_text import format_value, used_columns
from .columns import Row
from .errors import ModelError, Problem
from .families import FAMILIES, Family
from .input_files import MAX_CELL_CHARS, MAX_CSV_BYTES, UnreadableInput, read_limited

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

#: The row type of a :class:`FamilyTable` (covariant: a table of priors is a table of rows).
RowT = TypeVar("RowT", bound=Row, covariant=True)


@dataclass(frozen=True, repr=False)
class FamilyTable(Generic[RowT]):
    """The validated rows of one family and the 1-based line each came from (None when built in Python)."""

    family: Family
    rows: tuple[RowT, ...]
    lines: tuple[int | None, ...]
    source: str

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        """One line: the family, the row count (by profile) and where the rows came from."""
        profiles: dict[str, int] = {}
        for row in self.rows:
            if (profile := getattr(row, "profile", None)) is not None:
                profiles[profile] = profiles.get(profile, 0) + 1
        kinds = f" ({', '.join(f'{p} {n}' for p, n in profiles.items())})" if profiles else ""
        return f"<FamilyTable {self.family.filename}: {len(self.rows)} rows{kinds} from {self.source}>"

    def view(self, all_rows: bool = False) -> table_view.TableView:
        return table_view.family_view(self.family, self.rows, all_rows)

    def __str__(self) -> str:
        """The rows as a plain-text table (more than ``MAX_ROWS`` rows summarised)."""
        return table_view.plain_text(self.__rich__())

    def __rich__(self):
        return table_view.rich_table(self.view())

    def _repr_html_(self) -> str:
        return table_view.html_table(self.view())

    def show(self, all: bool = False) -> None:
        """Print the table; ``all`` lists every row instead of a summary of a long table."""
        table_view.print_renderable(table_view.rich_table(self.view(all)))


def family_for_path(path: str | os.PathLike) -> Family:
    stem = Path(path).name.removesuffix(".csv")
    if stem not in FAMILIES:
        expected = ", ".join(f.filename for f in FAMILIES.values())
        raise ModelError([Problem(str(path), f"unknown family file name: expected one of {expected}")])
    return FAMILIES[stem]


def read_family(path: str | os.PathLike, family: Family | str | None = None) -> FamilyTable[Row]:
    """Read and validate one family CSV; raise :class:`ModelError` listing every problem."""
    table, problems = parse_family(path, family)
    if problems:
        raise ModelError(problems)
    return table


def parse_family(path: str | os.PathLike,
                 family: Family | str | None = None) -> tuple[FamilyTable[Row], list[Problem]]:
    """Parse one family CSV, returning the valid rows and the list of problems (possibly empty)."""
    family = family_for_path(path) if family is None else FAMILIES[family] if isinstance(family, str) else family
    name = str(path)
    try:
        data = read_limited(path, MAX_CSV_BYTES)
    except UnreadableInput as err:
        return _empty(family, name), [Problem(name, str(err))]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        return _empty(family, name), [
            Problem(name, f"bytes {data[err.start:err.start + 4]!r} are not UTF-8: save the file as UTF-8 CSV",
                    line=line)
        ]
    return parse_text(text, family, name)


def parse_text(text: str, family: Family, name: str) -> tuple[FamilyTable[Row], list[Problem]]:
    """Validate CSV text of ``family``; ``name`` is used in messages."""
    if not text.strip():
        return _empty(family, name), [
            Problem(name, f"empty file: expected a header line with columns {', '.join(family.always_required)}",
                    line=1)
        ]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as err:
        return _empty(family, name), [Problem(name, f"unreadable CSV header: {err}", line=1)]
    problems = _check_header(header, family, name)
    if _unreadable_header(header):
        return _empty(family, name), problems
    # a misspelt column is read as the column it stands for, so its rows are still checked (it is reported)
    read_as = {**{h: h for h in header if h in family.columns},
               **{h: c for h, c in _misspelt(header, family).items() if c is not None}}
    records: list[tuple[int, dict[str, str]]] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                hint = (suggest.extra_cells(header, cells) if len(cells) > len(header)
                        else suggest.missing_cells(header, cells))
                problems.append(Problem(name, f"expected {len(header)} cells like the header, found "
                                              f"{len(cells)}{hint}", line=line))
                continue
            long = [h for h, c in zip(header, cells, strict=True) if len(c) > MAX_CELL_CHARS]
            if long:
                problems += [Problem(name, f"cell of more than {MAX_CELL_CHARS} characters (the limit)", line=line,
                                     column=h) for h in long]
                continue
            records.append((line, {read_as[h]: c.strip() for h, c in zip(header, cells, strict=True)
                                   if h in read_as and c.strip() != ""}))
    except csv.Error as err:
        problems.append(Problem(name, f"unreadable CSV: {err}", line=reader.line_num))
    table, row_problems = validate_table(family, records, name)
    return table, problems + _absent_columns(row_problems, [read_as.get(h, h) for h in header], family, name)


def rejected_keys(table: FamilyTable[Row], path: str | os.PathLike) -> set[str] | None:
    """The key cells (galaxy, tier, name, ...) of the rows of ``path`` that did not become rows of
    ``table`` (invalid rows), or None when the file cannot be read as rows at all."""
    try:
        rows = list(csv.DictReader(io.StringIO(read_limited(path, MAX_CSV_BYTES).decode("utf-8-sig"), newline="")))
    except (UnicodeDecodeError, csv.Error, OSError, UnreadableInput):
        return None
    if rows and len(rows[0]) == 1 and _unreadable_header(list(rows[0])):
        return None
    valid = {str(getattr(row, k)) for row in table.rows for k in table.family.key}
    found = {str(row.get(k) or "").strip() for row in rows for k in table.family.key}
    return found - valid - {""}


def _unreadable_header(header: list[str]) -> bool:
    """A header whose columns cannot be told apart (another separator): its rows cannot be read."""
    return len(header) == 1 and (";" in header[0] or "\t" in header[0])


def _absent_columns(problems: list[Problem], header: list[str], family: Family, name: str) -> list[Problem]:
    """The rows' problems with every "required cell is blank" of a column the header lacks replaced by one
    header problem for that column (none when a misspelt header column already points to it)."""
    suggested = set(_misspelt(header, family).values())
    kept: list[Problem] = []
    absent: dict[str, list[int | None]] = {}
    for problem in problems:
        if problem.column is not None and problem.column not in header and problem.message.startswith(
                _MESSAGES["missing"]):
            absent.setdefault(problem.column, []).append(problem.line)
        else:
            kept.append(problem)
    for column, lines in absent.items():
        if column not in suggested and column not in family.always_required:  # else a header problem says it
            where = ", ".join(str(n) for n in lines[:5]) + (", ..." if len(lines) > 5 else "")
            kept.append(Problem(name, f"missing column: the rows at line(s) {where} need it", line=1, column=column))
    return kept


def _absent(header: list[str], family: Family) -> list[str]:
    return [c for c in family.columns if c not in header]


def _misspelt(header: list[str], family: Family) -> dict[str, str | None]:
    """Each unknown header column -> the absent column it most likely stands for (or None)."""
    return {h: suggest.closest(h, _absent(header, family)) for h in header if h not in family.columns}


def _empty(family: Family, name: str) -> FamilyTable[Row]:
    return FamilyTable(family, (), (), name)


def _check_header(header: list[str], family: Family, name: str) -> list[Problem]:
    problems = []
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        sep = "semicolons" if ";" in header[0] else "tabs"
        return [
            Problem(name, f"the header is separated by {sep}: clusterlens reads comma-separated files "
                          "(in your spreadsheet export as 'CSV (comma delimited)')", line=1)
        ]
    seen: set[str] = set()
    for column in header:
        if column in seen:
            problems.append(Problem(name, "duplicated column in the header", line=1, column=column))
        seen.add(column)
        if column not in family.columns:
            hint = suggest.did_you_mean(column, _absent(header, family))
            problems.append(
                Problem(name, f"unknown column{hint}: expected columns of {family.name}: {', '.join(family.columns)}",
                        line=1, column=column or "(blank)")
            )
    suggested = set(_misspelt(header, family).values())
    for column in family.always_required:
        if column not in seen and column not in suggested:  # a misspelt column's message names it
            problems.append(Problem(name, "missing required column", line=1, column=column))
    return problems


_MESSAGES = {
    "missing": "required cell is blank",
    "extra_forbidden": "filled, but this row's profile does not use it: leave it blank",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "finite_number": "expected a finite number (not NaN or infinity)",
    "string_pattern_mismatch": "expected a name without commas, semicolons or leading spaces",
}


def validate_table(family: Family, records: Iterable[tuple[int | None, Mapping[str, Any]]],
                   source: str) -> tuple[FamilyTable[Row], list[Problem]]:
    """A family's table from ``(line, {column: value})`` records (None or "" = blank cell), with the
    problems of every bad cell and every duplicate key; ``source`` names the input in messages."""
    cleaned = [(line, {k: v for k, v in record.items() if v is not None and v != ""}) for line, record in records]
    rows, lines, problems = validate_records(family, cleaned, source)
    problems += duplicate_key_problems(family, rows, lines, source)
    return FamilyTable(family, tuple(rows), tuple(lines), source), problems


def validate_records(
    family: Family, records: Iterable[tuple[int | None, Mapping[str, Any]]], name: str
) -> tuple[list[Row], list[int | None], list[Problem]]:
    """Validate ``(line, {column: value})`` records into rows; collect a Problem per bad cell."""
    rows: list[Row] = []
    lines: list[int | None] = []
    problems: list[Problem] = []
    for line, record in records:
        try:
            rows.append(family.adapter.validate_python(record))
            lines.append(line)
        except ValidationError as err:
            problems += [_problem(e, record, family, name, line) for e in err.errors()]
    return rows, lines, problems


def _problem(error: ErrorDetails, record: Mapping[str, Any], family: Family, name: str, line: int | None) -> Problem:
    kind = error["type"]
    loc = [part for part in error["loc"] if isinstance(part, str) and part not in family.variants]
    column = loc[0] if loc else None
    if kind == "union_tag_invalid":
        profile = record.get("profile")
        return Problem(name, f"unknown profile{suggest.did_you_mean(profile, family.profiles)}: expected one of "
                             f"{', '.join(family.profiles)}", line=line, column="profile", value=profile)
    if kind == "union_tag_not_found":
        return Problem(name, f"required cell is blank: expected one of {', '.join(family.profiles)}",
                       line=line, column="profile")
    if kind == "value_error" and column is None:
        message = error["msg"].removeprefix("Value error, ")
        first = message.split(" ", 1)[0]
        column = first if first in family.columns else None
        value = record.get(column) if column else None
        return Problem(name, message, line=line, column=column, value=value)
    value = record.get(column) if column is not None else None
    message = _MESSAGES[kind] if kind in _MESSAGES else f"expected {_expectation(error)}"
    if kind in ("float_parsing", "float_type"):
        message += suggest.decimal_comma(value)
    elif kind == "literal_error":
        message = "expected " + _expectation(error) + suggest.did_you_mean(
            value, re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", ""))))
    if kind == "missing" and "profile" in record:
        message += f" (profile {record['profile']} needs it)"
    return Problem(name, message, line=line, column=column, value=value if value is None else str(value))


def _expectation(error: ErrorDetails) -> str:
    ctx = error.get("ctx", {})
    if "pattern" in ctx:
        return ("printable one-line text without , or ; (no control characters), not starting with a space "
                "or = + - @")
    if "max_length" in ctx:
        return f"at most {ctx['max_length']} characters"
    bounds = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    parts = [f"{sym} {ctx[key]}" for key, sym in bounds.items() if key in ctx]
    if parts:
        return "a value " + " and ".join(parts)
    if "expected" in ctx:
        return f"one of {ctx['expected']}"
    return error["msg"].lower()


def duplicate_key_problems(family: Family, rows: Sequence[Row], lines: Sequence[int | None],
                           name: str) -> list[Problem]:
    first: dict[tuple, int | None] = {}
    problems = []
    for row, line in zip(rows, lines, strict=True):
        key = tuple(getattr(row, k) for k in family.key)
        if key in first:
            where = f"line {first[key]}" if first[key] is not None else "an earlier row"
            problems.append(Problem(name, f"duplicate {' + '.join(family.key)} (first at {where})",
                                    line=line, column=family.key[-1], value=" / ".join(map(str, key))))
        else:
            first[key] = line
    return problems


# ---------------------------------------------------------------- writing
def csv_text(columns: Sequence[str], rows: Iterable[Iterable[object]]) -> str:
    """The CSV text every clusterlens CSV file is written as: a header line of ``columns``, one line
    per row of cells (:func:`format_value`), quoted only where needed, ``\\n`` line endings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([format_value(v) for v in row] for row in rows)
    return out.getvalue()


def frame_text(frame: pd.DataFrame) -> str:
    """:func:`csv_text` of a DataFrame's columns and rows (the index is not written)."""
    return csv_text(list(frame.columns), frame.itertuples(index=False))


def family_text(family: Family, rows: Sequence[Row]) -> str:
    """A family file's text: the used columns in canonical order (:func:`used_columns`), one line per row."""
    columns = used_columns(family, rows)
    dumps = (row.model_dump() for row in rows)
    return csv_text(columns, ([values.get(c) for c in columns] for values in dumps))


def write_family(rows: Sequence[Row] | FamilyTable[Row], path: str | os.PathLike,
                 family: Family | str | None = None) -> Path:
    """Write rows as ``path`` atomically (:func:`clusterlens.atomic.write_text`)."""
    if isinstance(rows, FamilyTable):
        family, rows = rows.family, rows.rows
    family = family_for_path(path) if family is None else FAMILIES[family] if isinstance(family, str) else family
    return atomic.write_text(path, family_text(family, rows))
