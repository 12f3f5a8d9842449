"""Rich tables of a model: one table per family, each CSV column with its unit, free cells marked.

Large tiers (more than ``MAX_ROWS`` members) are summarised as count and per-column ranges;
``model.show(all_rows=True)`` or ``clusterlens show --all`` lists every row.
"""
from __future__ import annotations

import io
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from . import csvio
from .families import Family
from .fit.prior_rules import prior_targets

if TYPE_CHECKING:
    from .model import ClusterModel

#: (family, row index, column) -> the prior that frees the cell, as text
FreeCells = dict[tuple[str, int, str], str]

MAX_ROWS = 25


def _header(family: Family, column: str, separator: str = "\n") -> Text:
    unit = family.unit(column)
    return Text(f"{column}{separator}[{unit}]" if unit else column)


def _free_cells(model: ClusterModel) -> FreeCells:
    """(family, row index, column) -> prior description for every cell a prior frees."""
    free: FreeCells = {}
    if any(p.family not in model.tables for p in model.priors):
        return free
    for prior in model.priors:
        args = {"uniform": (prior.lower, prior.upper), "loguniform": (prior.lower, prior.upper),
                "normal": (prior.mean, prior.sigma), "truncnormal": (prior.mean, prior.sigma, prior.lower, prior.upper)}
        text = f"{prior.prior}({', '.join(csvio.format_value(v) for v in args[prior.prior])})"
        for index, _ in prior_targets(model, prior):
            free[(prior.family, index, prior.parameter)] = text
    return free


def family_table(model: ClusterModel, name: str, all_rows: bool = False, free: FreeCells | None = None) -> Table:
    table_rows = model.tables[name]
    family = table_rows.family
    rows = table_rows.rows
    columns = csvio.used_columns(family, rows)
    title = f"{family.filename} - {family.description} ({len(rows)} row{'s' if len(rows) != 1 else ''})"
    table = Table(title=title, title_justify="left", header_style="bold cyan")
    if len(rows) > MAX_ROWS and not all_rows:
        table.add_column("column")
        table.add_column("filled", justify="right")
        table.add_column("min", justify="right")
        table.add_column("max", justify="right")
        frame = model.to_dataframes()[name]
        for column in columns:
            filled = frame[column].dropna()
            numeric = column in family.numeric_columns()
            lo = csvio.format_value(float(filled.min())) if numeric and len(filled) else ""
            hi = csvio.format_value(float(filled.max())) if numeric and len(filled) else ""
            table.add_row(_header(family, column, " "), str(len(filled)), lo, hi)
        table.caption = (f"{len(rows)} rows summarised; "
                         "show all with model.show(all_rows=True) or `clusterlens show --all`")
        return table
    for column in columns:
        table.add_column(_header(family, column), justify="left" if column in family.key else "right")
    free = free or {}
    for index, row in enumerate(rows):
        values = row.model_dump()
        cells = []
        for column in columns:
            text = Text(csvio.format_value(values.get(column)))
            if (name, index, column) in free:
                text.stylize("bold yellow")
                text.append("*", style="yellow")
            cells.append(text)
        table.add_row(*cells)
    return table


def model_renderable(model: ClusterModel, all_rows: bool = False) -> Group:
    ref = model.dataset.reference
    cosmo = model.dataset.cosmology
    cosmo_text = cosmo.name or ", ".join(f"{k}={v}" for k, v in cosmo.model_dump(exclude_none=True).items())
    head = Text.assemble(
        ("ClusterModel", "bold"),
        f" {model.dataset.name or (model.folder.name if model.folder else '')}  ",
        f"reference RA={ref.ra!r} Dec={ref.dec!r} deg  cosmology {cosmo_text}  ",
        f"z_lens={model.z_lens!r}  tiers={len(model.tiers)}",
        f"  lens planes z={', '.join(map(repr, model.lens_redshifts))}" if model.is_multiplane else "",
    )
    free = _free_cells(model)
    parts: list[RenderableType] = [head]
    for name in model.tables:
        parts.append(family_table(model, name, all_rows=all_rows, free=free))
    if free:
        listing = "\n".join(
            f"  {fam}: {getattr(model.rows(fam)[index], model.tables[fam].family.key[0])} {column} ~ {text}"
            for (fam, index, column), text in free.items()
        )
        parts.append(Text(f"{len(free)} free cell(s), marked * (priors.csv):\n{listing}", style="yellow"))
    return Group(*parts)


def print_model(model: ClusterModel, all_rows: bool = False, console: Console | None = None) -> None:
    (console or Console()).print(model_renderable(model, all_rows=all_rows))


def render_text(model: ClusterModel, width: int = 160) -> str:
    text = io.StringIO()
    console = Console(file=text, width=width, color_system=None, force_terminal=False)
    console.print(model_renderable(model))
    return text.getvalue()


def render_html(model: ClusterModel) -> str:
    console = Console(record=True, file=io.StringIO(), width=160)
    console.print(model_renderable(model))
    return console.export_html(inline_styles=True)
