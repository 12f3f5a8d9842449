"""Per-call cost of the point likelihoods at real size: single calls and batches, one thread.

Models: the M1149-like benchmark cluster (``m1149_like.py``: 5 free halos, 2 free galaxies, 230
members, 47 sources, 53 free parameters; built and simulated on first use into OUT/m1149_like) and
the bundled example cluster (10 free; simulated with seed 0 into OUT/example). For each, the
source-plane, image-plane and lenstool (forme -2) likelihoods (``clusterlens.fit.likelihood(model,
kind, threads=1)``, numba on one thread, after one untimed warm-up call) are timed near the truth,
where a sampler spends most of its calls: each point is 2 % of the way from the truth (the model's
CSV values) to a seeded prior draw (inside the prior, whose ranges are intervals). At raw prior draws
the image plane's matching falls back to the whole-plane image finder, seconds per call.

- single calls: one ``L(values)`` per point, min, median and mean over the points (the image plane's
  matching has a heavy tail: a few points need the whole-plane image finder);
- batch: ``L.batch(points)`` of all the points, per row (the batch's time over its rows), min and median
  over repeated batches: a batch's time per row is the mean of its rows, so compare it with the single
  calls' mean.

``finite`` is the share of the points with a finite log L (the rest make a model row invalid: -inf).
Times are wall clock; a shared machine makes them noisy (the minimum is the least disturbed).

Run: python benchmarks/bench_likelihood.py [OUT] [--draws 100] [--repeats 3]   (OUT: default /tmp/clusterlens_bench)
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import clusterlens
from clusterlens.fit import likelihood
from clusterlens.sampling_methods import LIKELIHOODS

sys.path.insert(0, str(Path(__file__).resolve().parent))

import m1149_like  # noqa: E402
from common import EXAMPLE, format_seconds, prior_draws  # noqa: E402

DEFAULT_OUT = Path("/tmp/clusterlens_bench")
NEAR_TRUTH = 0.02  #: how far from the truth towards a prior draw each timed point lies


@dataclass(frozen=True)
class Cost:
    """Per-call seconds of one likelihood: single calls (one per draw) and batches (per row, one per repeat)."""

    model: str
    kind: str
    n_free: int
    n_images: int
    single: tuple[float, ...]
    batch: tuple[float, ...]
    finite: float


def datasets(out: Path) -> dict[str, Path]:
    """Name -> dataset folder of the two benchmark models (built or simulated when missing)."""
    quiet = Console(file=io.StringIO())
    return {"M1149-like": m1149_like.ensure(out / "m1149_like"),
            "example_cluster": clusterlens.ensure_dataset(EXAMPLE, out / "example", seed=0, console=quiet)}


def measure(name: str, dataset: Path, kind: str, draws: int, repeats: int) -> Cost:
    model = clusterlens.load_model(dataset)
    L = likelihood(model, kind, threads=1)
    truth = L.parameters.values(model)
    values = truth + NEAR_TRUTH * (prior_draws(L.parameters, draws, seed=13) - truth)
    with np.errstate(all="ignore"):
        L(values[0])  # warm-up: numba compilation, caches
        single = []
        for v in values:
            start = time.perf_counter()
            L(v)
            single.append(time.perf_counter() - start)
        batch = []
        for _ in range(repeats):
            start = time.perf_counter()
            log_l = L.batch(values)
            batch.append((time.perf_counter() - start) / draws)
    return Cost(name, kind, len(L.parameters), len(model.point_datasets), tuple(single), tuple(batch),
                float(np.isfinite(log_l).mean()))


def measure_all(out: Path, draws: int, repeats: int) -> list[Cost]:
    return [measure(name, folder, kind, draws, repeats)
            for name, folder in datasets(out).items() for kind in LIKELIHOODS]


def table(costs: list[Cost], draws: int) -> Table:
    out = Table(title=f"likelihood per call, one thread ({draws} points near the truth; batch: L.batch of all "
                      "of them, per row)", title_justify="left")
    for column in ("model", "free", "images", "likelihood", "single min", "single median", "single mean",
                   "batch min/row", "batch median/row", "finite"):
        out.add_column(column, justify="left" if column in ("model", "likelihood") else "right", no_wrap=True)
    for c in costs:
        out.add_row(c.model, str(c.n_free), str(c.n_images), c.kind, format_seconds(min(c.single)),
                    format_seconds(float(np.median(c.single))), format_seconds(float(np.mean(c.single))),
                    format_seconds(min(c.batch)),
                    format_seconds(float(np.median(c.batch))), f"{c.finite:.0%}")
    return out


def single_thread_numba() -> None:
    """numba's parallel loops on one thread, as in a fit's worker process."""
    try:
        import numba
    except ImportError:
        return
    numba.set_num_threads(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=DEFAULT_OUT, help=f"folder (default {DEFAULT_OUT})")
    parser.add_argument("--draws", type=int, default=100, help="timed points, = the batch size (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="timed batches per likelihood (default 3)")
    args = parser.parse_args()
    single_thread_numba()
    console = Console() if sys.stdout.isatty() else Console(width=200)
    console.print(table(measure_all(args.out, args.draws, args.repeats), args.draws))


if __name__ == "__main__":
    main()
