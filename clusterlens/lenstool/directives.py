"""``#clusterlens`` directives: what the Lenstool blocks of a written ``.par`` cannot hold exactly.

:func:`clusterlens.lenstool.write_par` writes them after ``fini``, where Lenstool never reads:
``#clusterlens-family NAME`` followed by one ``#clusterlens-row NAME {json}`` per row replaces that
family on import (``#clusterlens-family NAME absent`` removes it), and ``#clusterlens-dataset {json}``
restores the dataset settings (a named cosmology is kept only while the ``cosmologie`` block still
describes it). Directives are written only for the families whose Lenstool form does not read back
exactly (:func:`directive_lines`) and applied by :func:`apply_directives`.
"""
from __future__ import annotations

import json

from ..cosmology import make_cosmology
from ..dataset import DatasetConfig
from ..model import ClusterModel, model_files
from .parfile import LenstoolError
from .reading import ParReader


def apply_directives(reader: ParReader, records: dict, dataset: dict) -> tuple[dict, dict]:
    """Replace what the file's ``#clusterlens`` directives carry exactly in ``records`` and ``dataset``."""
    overridden: dict[str, list[dict]] = {}
    for directive in reader.par.directives:
        where = reader.where(directive.line)
        try:
            if directive.kind == "family":  # "NAME" or "NAME absent"
                overridden[directive.text.partition(" ")[0]] = []
            elif directive.kind == "row":
                family, _, payload = directive.text.partition(" ")
                if family not in overridden:
                    raise LenstoolError(f"{where}: row directive for {family!r} before its "
                                        f"'#clusterlens-family {family}' line")
                overridden[family].append(json.loads(payload))
            elif directive.kind == "dataset":
                extra = json.loads(directive.text)  # the whole dataset: settings it leaves out are unset
                dataset = {"reference": dataset["reference"], "cosmology": dataset["cosmology"],
                           **{k: v for k, v in extra.items() if k not in ("reference", "cosmology")}}
                named = extra.get("cosmology", {}).get("name")
                if named is not None:
                    dataset["cosmology"] = named_cosmology(reader, named, where)
            else:
                reader.warn(f"line {directive.line}: unknown directive '#clusterlens-{directive.kind}': ignored")
        except json.JSONDecodeError as err:
            raise LenstoolError(f"{where}: directive is not valid JSON ({err.msg})") from None
    for family, rows in overridden.items():
        if rows:
            records[family] = rows
        else:
            records.pop(family, None)
    return records, dataset


def named_cosmology(reader: ParReader, name: str, where: str) -> dict:
    """A named cosmology from a directive, kept only if the ``cosmologie`` block still describes it."""
    named = make_cosmology({"name": name})
    if (named.H0.value, named.Om0) == (reader.cosmology_spec["H0"], reader.cosmology_spec["Om0"]):
        return {"name": name}
    reader.warn(f"{where}: the cosmologie block no longer matches the named cosmology {name!r}: the block is used")
    return dict(reader.cosmology_spec)


def directive_lines(model, native_records: dict, native_dataset: dict) -> str:
    """Directive lines for what differs between ``model`` and the records/dataset its Lenstool blocks
    read back as (:func:`clusterlens.lenstool.importer.read_blocks`); '' if nothing does."""

    lines = []
    if DatasetConfig.model_validate(native_dataset) != model.dataset:
        lines.append(f"#clusterlens-dataset {json.dumps(model.dataset.model_dump(mode='json', exclude_none=True))}")
    try:
        native_files = model_files(ClusterModel.from_records(native_records, model.dataset))
    except ValueError:
        native_files = {}
    mine = model_files(model)
    for family in sorted(set(native_records) | set(model.tables)):
        filename = f"{family}.csv"
        if native_files.get(filename) == mine.get(filename):
            continue
        if family not in model.tables:
            lines.append(f"#clusterlens-family {family} absent")
            continue
        lines.append(f"#clusterlens-family {family}")
        for row in model.rows(family):
            lines.append(f"#clusterlens-row {family} {json.dumps(row.model_dump(mode='json', exclude_none=True))}")
    return "\n".join(lines) + "\n" if lines else ""
