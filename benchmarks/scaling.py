"""How the cost grows with the number of cluster members and of observed images.

- versus members N (10 -> 3000, log-spaced): the deflection of N elliptical dPIE members at 1000 fixed
  points, and one source-plane likelihood call of a synthetic cluster (host halo + 2 galaxies + a tier
  of N members, 90 images; common.synthetic_model) with the fixed-lens cache on (the tier's
  amplitude sigma_ref is free: its members are evaluated once, so the call should not grow with N)
  and off (every member recomputed per call);
- versus images N (10 -> 1000): the same likelihood call with 300 members and N images.

Each time is the median over repeats (seeded prior draws for the likelihood), wall clock and CPU
time of this process; the code timed is single-threaded, so on an idle machine the two agree, and on
a shared one the CPU time leaves out the time other processes held the cores. The slope of
log(CPU time) versus log(N) is fitted over the upper half of each range (1 = linear); since a fixed
per-call cost flattens that slope, an affine model t = a + b N is also fitted (least squares in
relative error) and its largest relative residual printed: a small residual means "linear plus a
constant". Prints the tables and writes benchmarks/scaling.png (CPU times).

Run: python benchmarks/scaling.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from clusterlens.fit.point_likelihood import make_likelihood

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    Timing,
    format_seconds,
    machine,
    prior_draws,
    random_dpie_lens,
    synthetic_model,
    time_calls,
    time_each,
)

os.environ.setdefault("CLUSTERLENS_THREADS", "1")  # single-threaded: CPU time measures the work itself

OUTPUT = Path(__file__).resolve().parent / "scaling.png"
N_POINTS = 1000
N_IMAGES_FIXED = 90
N_MEMBERS_FIXED = 300


def counts(low: int, high: int, n: int) -> list[int]:
    """n log-spaced integers from low to high."""
    return sorted({int(round(v)) for v in np.geomspace(low, high, n)})


def deflection_time(n_members: int, repeats: int) -> Timing:
    lens = random_dpie_lens(n_members, seed=1)
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-60, 60, N_POINTS), rng.uniform(-60, 60, N_POINTS)
    return time_calls(lambda: lens.deflection(x, y), repeats)


def likelihood_times(n_members: int, n_images: int, calls: int) -> tuple[Timing, Timing]:
    """Timings of one source-plane likelihood call (over prior draws), cache on and off."""
    model = synthetic_model(n_members, n_images, seed=3)
    out = []
    for cache in (True, False):
        L = make_likelihood(model, "source", cache=cache)
        out.append(time_each(L, prior_draws(L.parameters, calls, seed=4)))
    return tuple(out)


def slope(n: list[int], timings: list[Timing]) -> float:
    """Least-squares slope of log(median CPU time) against log n over the upper half of n."""
    n, t = np.asarray(n, float), cpu_ms(timings)
    upper = n >= np.sqrt(n.min() * n.max())
    return float(np.polyfit(np.log(n[upper]), np.log(t[upper]), 1)[0])


def affine(n: list[int], timings: list[Timing]) -> tuple[float, float, float]:
    """(a, b, worst relative residual) of t = a + b n fitted to the median CPU times (ms), each point
    weighted by 1/t."""
    n, t = np.asarray(n, float), cpu_ms(timings)
    design = np.column_stack([np.ones_like(n), n]) / t[:, None]
    (a, b), *_ = np.linalg.lstsq(design, np.ones_like(t), rcond=None)
    return float(a), float(b), float(np.max(np.abs((a + b * n) / t - 1)))


def cpu_ms(timings: list[Timing]) -> np.ndarray:
    return np.array([t.cpu_median for t in timings]) * 1e3


def plot(members, member_series, images, image_series, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for ax, n, series, xlabel in ((axes[0], members, member_series, "members N"),
                                  (axes[1], images, image_series, "observed images N")):
        for label, t in series.items():
            line, = ax.loglog(n, cpu_ms(t), "o", label=f"{label} (slope {slope(n, t):.2f})")
            a, b, _ = affine(n, t)
            dense = np.geomspace(min(n), max(n), 100)
            ax.loglog(dense, a + b * dense, "-", color=line.get_color(), lw=1)
        ref = np.asarray(n, float)
        top = max(np.max(cpu_ms(t)) for t in series.values())
        ax.loglog(ref, top * ref / ref.max(), "k:", lw=1, label="proportional to N")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("CPU time per call [ms]")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("markers: median CPU time; lines: fitted a + b N", fontsize=9)
    axes[0].set_title(f"vs members ({N_POINTS} points; likelihood: {N_IMAGES_FIXED} images)")
    axes[1].set_title(f"vs images ({N_MEMBERS_FIXED} members)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats (smoke run)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"figure path (default {OUTPUT.name})")
    args = parser.parse_args()
    console = Console() if sys.stdout.isatty() else Console(width=160)
    steps, repeats, calls = (5, 3, 10) if args.quick else (10, 9, 40)
    console.print(f"machine: {machine()}")

    members = counts(10, 3000, steps)
    member_series = {"deflection": [], "likelihood, cache on": [], "likelihood, cache off": []}
    for n in members:
        member_series["deflection"].append(deflection_time(n, repeats))
        on, off = likelihood_times(n, N_IMAGES_FIXED, calls)
        member_series["likelihood, cache on"].append(on)
        member_series["likelihood, cache off"].append(off)
    images = counts(10, 1000, steps)
    image_series = {"likelihood, cache on": [], "likelihood, cache off": []}
    for n in images:
        on, off = likelihood_times(N_MEMBERS_FIXED, n, calls)
        image_series["likelihood, cache on"].append(on)
        image_series["likelihood, cache off"].append(off)

    for title, n, series, unit in (
            (f"versus members (deflection at {N_POINTS} points; likelihood with {N_IMAGES_FIXED} images)",
             members, member_series, "members"),
            (f"versus observed images (likelihood with {N_MEMBERS_FIXED} members)", images, image_series, "images")):
        table = Table(title=title, title_justify="left")
        table.add_column(unit, justify="right")
        for label in series:
            table.add_column(f"{label}: wall / cpu", justify="right")
        for i, count in enumerate(n):
            table.add_row(str(count), *(f"{format_seconds(t[i].median)} / {format_seconds(t[i].cpu_median)}"
                                        for t in series.values()))
        table.add_row("slope of log(cpu), upper half", *(f"{slope(n, t):.2f}" for t in series.values()))
        fits = [affine(n, t) for t in series.values()]
        table.add_row(f"cpu = a + b N: a, b per {unit[:-1]}",
                      *(f"{format_seconds(a / 1e3)}, {format_seconds(b / 1e3)}" for a, b, _ in fits))
        table.add_row("largest relative residual", *(f"{100 * worst:.0f} %" for _, _, worst in fits))
        console.print(table)
    plot(members, member_series, images, image_series, args.output)
    console.print(escape(f"figure: {args.output}; times are medians over {repeats} repeats (deflection) or "
                         f"{calls} prior draws (likelihood); slopes and figure from the CPU times"))


if __name__ == "__main__":
    main()
