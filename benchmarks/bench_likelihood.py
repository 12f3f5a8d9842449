"""Per-call cost of the point likelihoods at real size: single calls and batches, one thread.

Models: the M1149-like benchmark cluster (``m1149_like.py``: 5 free halos, 2 free galaxies, 230
members, 47 sources, 53 free parameters; built and simulated on first use into OUT/m1149_like), Abell
2744's Lenstool optimisation model (``A2744_SLspec.par`` imported with its own priors: 21 free, 258
dPIE in 6 potentials and 3 potfile tiers, 83 catalogue images at 0.5"; saved into OUT/a2744_opt) and
the bundled example cluster (10 free; simulated with seed 0 into OUT/example). For each, the
source-plane, image-plane and lenstool (forme -2) likelihoods are timed by ``likelihood_timer.py`` in a
fresh process (numba on one thread, after one untimed warm-up call) near the truth, where a sampler
spends most of its calls: each point is 2 % of the way from the truth (the model's CSV values) to a
seeded prior draw. At raw prior draws the image plane's matching falls back to finder windows around
most observed images, tens to hundreds of ms per call.

- single calls: one ``L(values)`` per point, min, median and mean over the points (the image plane's
  matching has a heavy tail: a few points need finder windows);
- batch: ``L.batch(points)`` of all the points, per row (the batch's time over its rows), min and median
  over repeated batches: a batch's time per row is the mean of its rows, so compare it with the single
  calls' mean;
- ``--baseline DIR``: the same timer, points and inputs with the clusterlens checked out in DIR (e.g. a
  ``git worktree`` of 0.1) on PYTHONPATH; the ratio column is its median single call over ours;
- the Lenstool column quotes Lenstool 6.8 on this kind of machine: one image-plane chi2 of A2744's
  ``best.par`` (the same 258 dPIE and 83 images) costs about 0.28 CPU-s (the issue's measurement).

``finite`` is the share of the points with a finite log L (the rest make a model row invalid: -inf).
Times are wall clock; a shared machine makes them noisy (the minimum is the least disturbed).

Run: python benchmarks/bench_likelihood.py [OUT] [--draws 100] [--repeats 3] [--baseline DIR]
     (OUT: default /tmp/clusterlens_bench)
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import clusterlens
from clusterlens.sampling_methods import LIKELIHOODS

sys.path.insert(0, str(Path(__file__).resolve().parent))

import m1149_like  # noqa: E402
from common import EXAMPLE, ROOT, a2744_tiers, format_seconds  # noqa: E402

DEFAULT_OUT = Path("/tmp/clusterlens_bench")
NEAR_TRUTH = 0.02  #: how far from the truth towards a prior draw each timed point lies


LENSTOOL_A2744_CHI2 = 0.28  #: CPU seconds of one Lenstool 6.8 image-plane chi2 of A2744 best.par (quoted)
TIMER = Path(__file__).resolve().parent / "likelihood_timer.py"


@dataclass(frozen=True)
class Cost:
    """Per-call seconds of one likelihood: single calls (one per draw) and batches (per row, one per repeat);
    ``baseline``: the median single call of the baseline checkout (None without one)."""

    model: str
    kind: str
    n_free: int
    n_images: int
    single: tuple[float, ...]
    batch: tuple[float, ...]
    finite: float
    baseline: float | None = None


def datasets(out: Path) -> dict[str, Path]:
    """Name -> folder of the three benchmark models (built, imported or simulated when missing)."""
    quiet = Console(file=io.StringIO())
    a2744 = out / "a2744_opt"
    if not (a2744 / "point_datasets.csv").exists():
        clusterlens.save_model(a2744_tiers(), a2744, overwrite=True)
    return {"M1149-like": m1149_like.ensure(out / "m1149_like"), "A2744 optimisation": a2744,
            "example_cluster": clusterlens.ensure_dataset(EXAMPLE, out / "example", seed=0, console=quiet)}


def timed(folder: Path, draws: int, repeats: int, pythonpath: Path) -> list[dict]:
    """likelihood_timer.py's JSON for every kind of ``folder``, run with ``pythonpath``'s clusterlens."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    command = [sys.executable, str(TIMER), str(folder), ",".join(LIKELIHOODS), "--draws", str(draws),
               "--repeats", str(repeats), "--near", str(NEAR_TRUTH)]
    return json.loads(subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout)


def measure_all(out: Path, draws: int, repeats: int, baseline: Path | None) -> list[Cost]:
    costs = []
    for name, folder in datasets(out).items():
        old = {r["kind"]: float(np.median(r["single"])) for r in timed(folder, draws, 1, baseline)} \
            if baseline is not None else {}
        for r in timed(folder, draws, repeats, ROOT):
            costs.append(Cost(name, r["kind"], r["n_free"], r["n_images"], tuple(r["single"]), tuple(r["batch"]),
                              r["finite"], old.get(r["kind"])))
    return costs


def table(costs: list[Cost], draws: int, baseline: Path | None) -> Table:
    out = Table(title=f"likelihood per call, one thread ({draws} points near the truth; batch: L.batch of all "
                      "of them, per row)", title_justify="left")
    columns = ["model", "free", "images", "likelihood", "single min", "single median", "single mean",
               "batch min/row", "batch median/row", "finite"]
    if baseline is not None:
        columns += ["baseline median", "baseline / ours"]
    columns += ["Lenstool 6.8 / ours (quoted)"]
    for column in columns:
        out.add_column(column, justify="left" if column in ("model", "likelihood") else "right", no_wrap=True)
    for c in costs:
        median = float(np.median(c.single))
        cells = [c.model, str(c.n_free), str(c.n_images), c.kind, format_seconds(min(c.single)),
                 format_seconds(median), format_seconds(float(np.mean(c.single))),
                 format_seconds(min(c.batch)) if c.batch else "-",
                 format_seconds(float(np.median(c.batch))) if c.batch else "-", f"{c.finite:.0%}"]
        if baseline is not None:
            cells += [format_seconds(c.baseline) if c.baseline else "-",
                      f"{c.baseline / median:.3g}" if c.baseline else "-"]
        quoted = c.model == "A2744 optimisation" and c.kind != "source"
        cells += [f"0.28 s / {format_seconds(median)} = {LENSTOOL_A2744_CHI2 / median:.3g}" if quoted else "-"]
        out.add_row(*cells)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=DEFAULT_OUT, help=f"folder (default {DEFAULT_OUT})")
    parser.add_argument("--draws", type=int, default=100, help="timed points, = the batch size (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="timed batches per likelihood (default 3)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout of another clusterlens version (e.g. a git worktree of 0.1) to compare with")
    args = parser.parse_args()
    console = Console() if sys.stdout.isatty() else Console(width=240)
    console.print(table(measure_all(args.out, args.draws, args.repeats, args.baseline), args.draws, args.baseline))


if __name__ == "__main__":
    main()
