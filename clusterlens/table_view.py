"""Tables as data, drawn two ways: a rich table for terminals and ``str()``, an HTML fragment for notebooks.

A :class:`TableView` is a title, column headers with units, rows of cell texts (a cell may be marked
free, with the prior that frees it as its note) and a caption. :func:`family_view` builds one for a
family's rows (tiers of more than ``MAX_ROWS`` members summarised as per-column counts and ranges);
:func:`rich_table` and :func:`html_table` draw it; :func:`plain_text` renders any rich renderable
as uncoloured text at its natural width (no truncated names when piped), :func:`html_block` wraps
HTML tables in one ``<div>`` fragment (no page, no style sheet: it renders in Jupyter and nbconvert).
"""
from __future__ import annotations

import html
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .cell_text import format_value, used_columns
from .columns import Row
from .families import Family

if TYPE_CHECKING:
    from rich.console import RenderableType

MAX_ROWS = 25

#: The widest a text rendering gets (columns); tables narrower than this keep their natural width.
TEXT_WIDTH = 400


@dataclass(frozen=True)
class Cell:
    """One cell's text; ``note`` (the prior of a free cell) marks it free."""

    text: str
    note: str | None = None


@dataclass(frozen=True)
class TableView:
    """A table to draw: ``columns`` as (name, unit) pairs, ``right`` the right-justified column names."""

    title: str
    columns: tuple[tuple[str, str], ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str | None = None
    right: frozenset[str] = field(default_factory=frozenset)


def family_view(family: Family, rows: Sequence[Row], all_rows: bool = False,
                free: Mapping[tuple[int, str], str] | None = None) -> TableView:
    """A family's rows as a table: every used column with its unit, free cells ((row index, column) ->
    prior text) marked; more than ``MAX_ROWS`` rows become a per-column summary unless ``all_rows``."""
    columns = used_columns(family, rows)
    title = f"{family.filename} - {family.description} ({len(rows)} row{'s' if len(rows) != 1 else ''})"
    dumps = [row.model_dump() for row in rows]
    if len(rows) > MAX_ROWS and not all_rows:
        numeric = set(family.numeric_columns())
        summary = []
        for column in columns:
            filled = [d[column] for d in dumps if d.get(column) is not None]
            values = [float(v) for v in filled] if column in numeric else []
            lo, hi = (format_value(min(values)), format_value(max(values))) if values else ("", "")
            unit = family.unit(column)
            summary.append((Cell(f"{column} [{unit}]" if unit else column), Cell(str(len(filled))), Cell(lo),
                            Cell(hi)))
        return TableView(title, (("column", ""), ("filled", ""), ("min", ""), ("max", "")), tuple(summary),
                         f"{len(rows)} rows summarised; show all with model.show(all=True) or "
                         "`clusterlens show --all`", frozenset({"filled", "min", "max"}))
    free = free or {}
    body = tuple(tuple(Cell(format_value(d.get(c)), free.get((i, c))) for c in columns) for i, d in enumerate(dumps))
    return TableView(title, tuple((c, family.unit(c)) for c in columns), body,
                     right=frozenset(c for c in columns if c not in family.key))


def rich_table(view: TableView) -> RenderableType:
    """The view as a title line, a :class:`rich.table.Table` (free cells bold yellow with a ``*``) and
    its caption line (title and caption are not wrapped to the table's width)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold cyan")
    for name, unit in view.columns:
        table.add_column(Text(f"{name}\n[{unit}]" if unit else name),
                         justify="right" if name in view.right else "left")
    for row in view.rows:
        cells = []
        for cell in row:
            text = Text(cell.text)
            if cell.note is not None:
                text.stylize("bold yellow")
                text.append("*", style="yellow")
            cells.append(text)
        table.add_row(*cells)
    return Group(Text(view.title), table, *((Text(view.caption),) if view.caption else ()))


_CELL = "padding:1px 6px;border-bottom:1px solid #ddd;"


def html_table(view: TableView) -> str:
    """The view as one ``<table>`` (caption = title; free cells bold with a ``*``, the prior as tooltip)."""
    e = html.escape
    head = "".join(f'<th style="{_CELL}text-align:{"right" if n in view.right else "left"}">{e(n)}'
                   + (f'<br><span style="font-weight:normal">[{e(u)}]</span>' if u else "") + "</th>"
                   for n, u in view.columns)
    lines = []
    for row in view.rows:
        cells = []
        for (name, _), cell in zip(view.columns, row, strict=True):
            align = "right" if name in view.right else "left"
            if cell.note is None:
                cells.append(f'<td style="{_CELL}text-align:{align}">{e(cell.text)}</td>')
            else:
                cells.append(f'<td style="{_CELL}text-align:{align};font-weight:bold" title="{e(cell.note)}">'
                             f"{e(cell.text)}*</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    caption = f'<div style="font-size:90%;color:#555">{e(view.caption)}</div>' if view.caption else ""
    return (f'<table style="border-collapse:collapse;margin:4px 0"><caption style="text-align:left;'
            f'font-weight:bold;caption-side:top">{e(view.title)}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(lines)}</tbody></table>{caption}")


def html_block(heading: str, tables: Iterable[str], notes: Iterable[str] = ()) -> str:
    """One HTML fragment: a heading line, the tables, then note lines (each escaped by the caller)."""
    body = "".join(tables) + "".join(f'<div style="color:#8a6d00">{n}</div>' for n in notes)
    return f'<div class="clusterlens"><div style="font-weight:bold">{heading}</div>{body}</div>'


def plain_text(renderable: Any, width: int = TEXT_WIDTH) -> str:
    """``renderable`` as plain text (no colours), at its natural width up to ``width``, lines right-stripped."""
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=width, color_system=None, force_terminal=False, force_jupyter=False,
            legacy_windows=False).print(renderable)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


def print_renderable(renderable: Any, console=None) -> None:
    """Print to ``console`` (default: stdout; a pipe or file gets the natural width, never truncated names)."""
    from rich.console import Console

    if console is None:
        console = Console()
        if not console.is_terminal and not console.is_jupyter:
            console = Console(width=TEXT_WIDTH)
    console.print(renderable)
