"""How a model shows itself: a one-screen ``repr``, text tables (``str``, ``show``) and an HTML fragment.

One table per family (:func:`clusterlens.table_view.family_view`), each CSV column with its unit,
cells freed by priors.csv marked ``*``. Large tiers (more than ``MAX_ROWS`` members) are summarised
as count and per-column ranges; ``model.show(all=True)`` or ``clusterlens show --all`` lists every
row. Nothing here prints except :func:`print_model`.
"""
from __future__ import annotations

import html
import textwrap
from typing import TYPE_CHECKING

from . import table_view
from .cell_text import format_value
from .fit.prior_rules import prior_targets
from .table_view import MAX_ROWS

if TYPE_CHECKING:
    from .model import ClusterModel

__all__ = ["MAX_ROWS", "model_renderable", "model_summary", "print_model", "render_html", "render_text"]

#: (family, row index, column) -> the prior that frees the cell, as text
FreeCells = dict[tuple[str, int, str], str]


def _free_cells(model: ClusterModel) -> FreeCells:
    """(family, row index, column) -> prior description for every cell a prior frees."""
    free: FreeCells = {}
    if any(p.family not in model.tables for p in model.priors):
        return free
    for prior in model.priors:
        args = {"uniform": (prior.lower, prior.upper), "loguniform": (prior.lower, prior.upper),
                "normal": (prior.mean, prior.sigma), "truncnormal": (prior.mean, prior.sigma, prior.lower, prior.upper)}
        text = f"{prior.prior}({', '.join(format_value(v) for v in args[prior.prior])})"
        for index, _ in prior_targets(model, prior):
            free[(prior.family, index, prior.parameter)] = text
    return free


def _views(model: ClusterModel, all_rows: bool) -> list[table_view.TableView]:
    free = _free_cells(model)
    return [table_view.family_view(table.family, table.rows, all_rows,
                                   {(i, c): t for (f, i, c), t in free.items() if f == name})
            for name, table in model.tables.items()]


def _heading(model: ClusterModel) -> str:
    ref = model.dataset.reference
    cosmo = model.dataset.cosmology
    cosmo_text = cosmo.name or ", ".join(f"{k}={v}" for k, v in cosmo.model_dump(exclude_none=True).items())
    name = model.dataset.name or (model.folder.name if model.folder else "")
    return (f"ClusterModel {name}  reference RA={ref.ra!r} Dec={ref.dec!r} deg  cosmology {cosmo_text}  "
            f"z_lens={model.z_lens!r}  tiers={len(model.tiers)}"
            + (f"  lens planes z={', '.join(map(repr, model.lens_redshifts))}" if model.is_multiplane else ""))


def _free_lines(model: ClusterModel) -> list[str]:
    free = _free_cells(model)
    if not free:
        return []
    listing = [f"  {fam}: {getattr(model.rows(fam)[index], model.tables[fam].family.key[0])} {column} ~ {text}"
               for (fam, index, column), text in free.items()]
    return [f"{len(free)} free cell(s), marked * (priors.csv):", *listing]


def model_summary(model: ClusterModel) -> str:
    """A few lines: name, folder, z_lens, each family's row count (by profile), the free cells."""
    lines = [f"<ClusterModel {model.dataset.name or ''}".rstrip() + (f" from {model.folder}>" if model.folder else ">"),
             f"  z_lens {model.z_lens!r}, reference RA {model.dataset.reference.ra!r} Dec "
             f"{model.dataset.reference.dec!r} deg, {len(model.tiers)} member tier(s)"]
    for table in model.tables.values():
        profiles: dict[str, int] = {}
        for row in table.rows:
            profile = getattr(row, "profile", None)
            if profile is not None:
                profiles[profile] = profiles.get(profile, 0) + 1
        kinds = f" ({', '.join(f'{p} {n}' for p, n in profiles.items())})" if len(profiles) > 1 else ""
        lines.append(f"  {table.family.filename}: {len(table)} row{'s' if len(table) != 1 else ''}{kinds}")
    free = _free_cells(model)
    cells = ", ".join(f"{fam}.{getattr(model.rows(fam)[i], model.tables[fam].family.key[0])}.{col}"
                      for fam, i, col in free)
    lines += textwrap.wrap(f"{len(free)} free cell(s){': ' + cells if cells else ''}", 100,
                           initial_indent="  ", subsequent_indent="    ")
    return "\n".join(lines)


def model_renderable(model: ClusterModel, all_rows: bool = False):
    """The model as one rich renderable: the heading line, a table per family, the free cells."""
    from rich.console import Group
    from rich.text import Text

    notes = _free_lines(model)
    return Group(Text(_heading(model), style="bold"), *(table_view.rich_table(v) for v in _views(model, all_rows)),
                 *((Text("\n".join(notes), style="yellow"),) if notes else ()))


def print_model(model: ClusterModel, all_rows: bool = False, console=None) -> None:
    table_view.print_renderable(model_renderable(model, all_rows=all_rows), console)


def render_text(model: ClusterModel, all_rows: bool = False) -> str:
    """The tables as plain text (what ``str(model)`` returns)."""
    return table_view.plain_text(model_renderable(model, all_rows=all_rows))


def render_html(model: ClusterModel, all_rows: bool = False) -> str:
    """The tables as one HTML fragment (what a notebook shows for ``model``)."""
    return table_view.html_block(html.escape(_heading(model)),
                                 (table_view.html_table(v) for v in _views(model, all_rows)),
                                 [html.escape(line) for line in _free_lines(model)])
