"""JSON Schemas of every row type, generated from the pydantic models.

``python -m clusterlens.schemas [FOLDER]`` (default ``schemas/``) regenerates
``<family>.schema.json`` and ``dataset.schema.json``; tests fail when the committed files drift.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from . import atomic
from .dataset import DatasetConfig
from .families import FAMILIES


def schema_texts() -> dict[str, str]:
    """File name -> JSON text of every schema (stable: sorted keys, 2-space indent, newline)."""
    out = {}
    for family in FAMILIES.values():
        schema = family.adapter.json_schema()
        schema.setdefault("title", family.name)
        schema["description"] = f"One row of {family.filename}: {family.description}. Key: {', '.join(family.key)}."
        out[f"{family.name}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    out["dataset.schema.json"] = json.dumps(DatasetConfig.model_json_schema(), indent=2, sort_keys=True) + "\n"
    return out


def write_schemas(folder: str | Path = "schemas") -> list[Path]:
    folder = Path(folder)
    texts = schema_texts()
    atomic.write_files(folder, {name: text.encode("utf-8") for name, text in texts.items()})
    return [folder / name for name in texts]


if __name__ == "__main__":
    for path in write_schemas(sys.argv[1] if len(sys.argv) > 1 else "schemas"):
        print(path)
