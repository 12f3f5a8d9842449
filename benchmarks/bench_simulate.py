"""Simulating the bundled example cluster: time per stage and end to end (goal: <= 30 s on 2 cores).

Stages: loading the model and building its lens (160 members + 3 main galaxies + NFW halo + shear),
the image (250 x 250 pixels, 3 x 3 sub-pixels ray-traced once for 8 source redshifts, PSF, noise),
the point datasets (one image-finder mesh per source redshift), the preview (critical curves for each
redshift), and the whole ``simulate`` call including FITS/PNG/CSV writing. Wall clock, one process,
best of ``--repeats``; numba threads as configured (set NUMBA_NUM_THREADS=2 to mimic a 2-core runner).
On a shared machine timings are noisy.

Run: python benchmarks/bench_simulate.py [--repeats 1]
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from clusterlens import load_model, simulate
from clusterlens.simulation import dataset_folder
from common import best_of

MODEL = Path(__file__).resolve().parents[1] / "datasets" / "example_cluster"
GOAL_SECONDS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    console = Console()
    imaging_seed, points_seed = np.random.SeedSequence(0).spawn(2)

    def build():
        model = load_model(MODEL)
        _ = model.lens  # a cached property: build the lens inside the timed call
        return model

    model, t_build = best_of(build, args.repeats)
    image, t_image = best_of(lambda: dataset_folder.simulate_image(model, imaging_seed), args.repeats)
    (truth, observed), t_points = best_of(lambda: dataset_folder.simulate_points(model, points_seed), args.repeats)
    _, t_preview = best_of(lambda: dataset_folder.preview_png(model, image, observed), args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        _, t_total = best_of(lambda: simulate(MODEL, Path(tmp) / "out", seed=0), args.repeats)

    settings = model.dataset.imaging
    table = Table(title=f"simulate {MODEL.name} (cpus: {os.cpu_count()}, "
                        f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'default')})")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_row("load model + build lens", f"{t_build:.2f}")
    table.add_row(f"image {settings.shape[0]}x{settings.shape[1]}, oversampling {settings.oversampling}",
                  f"{t_image:.2f}")
    table.add_row(f"point datasets ({len(observed)} images of {len(model.source_points)} sources)", f"{t_points:.2f}")
    table.add_row("preview (critical curves per redshift)", f"{t_preview:.2f}")
    table.add_row("simulate() end to end", f"{t_total:.2f}")
    console.print(table)
    verdict = "[green]within[/green]" if t_total <= GOAL_SECONDS else "[red]over[/red]"
    console.print(f"end to end {t_total:.1f} s: {verdict} the {GOAL_SECONDS:.0f} s goal")


if __name__ == "__main__":
    main()
