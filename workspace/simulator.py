"""The simulator guide: from the bundled example model to a dataset folder, and back to reuse.

    python workspace/simulator.py [--seed 2744]

1. ``clusterlens.simulation.ensure_dataset`` simulates ``datasets/example_cluster`` into
   ``workspace/output/example_dataset`` (or reuses it when the manifest says it is current: same model
   bytes, same seed, same clusterlens version, outputs untouched);
2. a summary of the multiple images of every source (count, signed magnifications, time delays);
3. what the folder holds (sizes and sha256 from manifest.json) and where the preview image is.
Run it twice: the second run reuses the dataset. Edit a CSV of the example (in a copy!) and it re-simulates.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from clusterlens.simulation import ensure_dataset, summary_table

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "datasets" / "example_cluster"
OUT = Path(__file__).resolve().parent / "output" / "example_dataset"

console = Console(width=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2744)
    args = parser.parse_args()

    console.rule("1. Simulate (or reuse) the example dataset")
    start = time.perf_counter()
    folder = ensure_dataset(MODEL, OUT, seed=args.seed, console=console)
    console.print(f"took {time.perf_counter() - start:.1f} s")

    console.rule("2. Multiple images of every source")
    console.print(summary_table(folder))
    observed = pd.read_csv(folder / "point_datasets.csv")
    console.print(f"point_datasets.csv: {len(observed)} observed images of {observed['name'].nunique()} sources, "
                  f"positional error {observed['sigma'].iat[0]} arcsec (the fit's input)")

    console.rule("3. The dataset folder")
    manifest = json.loads((folder / "manifest.json").read_text())
    table = Table("file", "bytes", "sha256 (first 16)")
    for name, digest in manifest["outputs"].items():
        table.add_row(name, str((folder / name).stat().st_size), digest[:16])
    console.print(table)
    console.print(f"seed {manifest['seed']}, clusterlens {manifest['clusterlens_version']}; "
                  f"preview: {folder / 'preview.png'}")


if __name__ == "__main__":
    main()
