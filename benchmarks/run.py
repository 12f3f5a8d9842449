"""clusterlens benchmark suite (issue #8): clusterlens and its peers on the same inputs, in one process.

Cases (benchmarks/README.md explains each figure):

- lens-point throughput on Abell 2744 (best.par: 258 dPIE) at its 83 images and on a 200 x 200 grid
  covering them: deflection, deflection + Hessian, and two magnification maps (z_s = 2 and 4) next to
  Lenstool's published 8.0 s for two 200 x 200 amplification maps of this model;
- the issue's standard lens (1 NFW + 300 elliptical dPIE, bench_lens.py): deflections on a 200 x 200
  grid and at 100 points;
- one likelihood call on A2744 with tiers (A2744_SLspec.par + the 83 images; 7 free parameters: sigma
  of O1, O2, O4-O7 and the sigma_ref of the 246-member tier): source plane with the fixed-lens cache,
  source plane with everything recomputed, image plane;
- image finding for one source behind A2744 (system 1's source, z = 1.688): ImageFinder mesh, time per
  source, and lenstronomy's LensEquationSolver on the same lens (capped);
- simulating the example cluster (clusterlens.simulate into a temporary folder);
- with --with-fit, the full example fit (clusterlens.fit.run into a temporary folder; minutes).

lenstronomy runs live on the same lens (each dPIE as a difference of two NIE, clusterlens.peers.lenstronomy_model);
autolens cannot be installed here and is reported as such; the figures issue #8 quotes for both
(1 NFW + 300 dPIE, measured by the issue author on this machine) are printed next to ours.
Times are the median over repeats with the [min-max] range; peak MB is tracemalloc's peak during one
extra, untimed call. Ratios are lenstronomy's time over clusterlens's (> 1: clusterlens is faster).
--profile prints cProfile's top entries for the A2744 likelihood (cached and uncached) and the grid
deflection instead of the table.

Run: python benchmarks/run.py [--quick] [--with-fit] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import functools
import io
import pstats
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from clusterlens.lens import Lens
from clusterlens.peers import lenstronomy_model

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    EXAMPLE,
    LENSTOOL_TWO_AMPLIFICATION_MAPS,
    QUOTED,
    Timing,
    a2744_best,
    a2744_likelihood_model,
    covering_grid,
    format_seconds,
    machine,
    max_rss_mb,
    observed_positions,
    peak_mb,
    peers,
    prior_draws,
    standard_lens_inputs,
    time_calls,
    time_each,
    with_time_limit,
    worst_relative_difference,
)

LENSTRONOMY_SOLVER_LIMIT = 120.0  # seconds
MAP_REDSHIFTS = (2.0, 4.0)


@dataclass
class Row:
    """One line of the table."""

    case: str
    ours: Timing | None
    throughput: str = ""
    peak: float | None = None
    peer: Timing | str | None = None  # lenstronomy live: a Timing, or why there is none
    quoted: list[tuple[str, float]] = field(default_factory=list)  # (who, seconds)
    note: str = ""


@dataclass
class Settings:
    quick: bool

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def pairs_rate(pairs: int, timing: Timing) -> str:
    return f"{pairs / timing.median:.3g} pairs/s"


def ratio(peer: Timing | str | None, ours: Timing | None) -> str:
    """lenstronomy's median time over ours: wall clock / CPU time."""
    if isinstance(peer, Timing) and ours is not None:
        cpu = peer.cpu_median / ours.cpu_median if ours.cpu_seconds and peer.cpu_seconds else float("nan")
        return f"{peer.median / ours.median:.3g}, {cpu:.3g}"
    return "-"


# ---------------------------------------------------------------------------------------- cases
def lens_throughput(s: Settings) -> list[Row]:
    """A2744 best.par at its images and on a 200 x 200 grid, and two magnification maps."""
    model = a2744_best()
    lens = model.lens
    n_components = sum(g.size for g in lens.groups)
    x, y = observed_positions(model)
    gx, gy = covering_grid(x, y, 200)
    peer, kw = lenstronomy_model(lens)
    worst = worst_relative_difference(lens, peer, kw, x, y)

    def rows_at(where: str, px: np.ndarray, py: np.ndarray, repeats: int, peer_repeats: int) -> list[Row]:
        pairs = px.size * n_components
        t = time_calls(lambda: lens.deflection(px, py), repeats)
        live = time_calls(lambda: peer.alpha(px, py, kw), peer_repeats, warmup=1 if px.size < 1000 else 0)
        rows = [Row(f"deflection, {where}", t, pairs_rate(pairs, t), peak_mb(lambda: lens.deflection(px, py)),
                    live)]
        t = time_calls(lambda: lens.deflection_and_hessian(px, py), repeats)
        if s.quick and px.size > 1000:
            live = "skipped (--quick)"
        else:
            live = time_calls(lambda: (peer.alpha(px, py, kw), peer.hessian(px, py, kw)), peer_repeats,
                              warmup=1 if px.size < 1000 else 0)
        rows.append(Row(f"deflection + Hessian, {where}", t, pairs_rate(pairs, t),
                        peak_mb(lambda: lens.deflection_and_hessian(px, py)), live))
        return rows

    rows = [*rows_at(f"{x.size} images", x, y, s.n(200, 20), s.n(20, 3)),
            *rows_at("200x200 grid", gx, gy, s.n(7, 2), s.n(3, 1))]
    rows[0].note = (f"{n_components} dPIE; lenstronomy: {2 * n_components} NIE, max |dalpha|/|alpha| = {worst:.1e} "
                    f"at the images")

    def two_maps():
        return [model.magnification(gx, gy, z) for z in MAP_REDSHIFTS]

    t = time_calls(two_maps, s.n(5, 1))
    if s.quick:
        live = "skipped (--quick)"
    else:
        twins = [lenstronomy_model(lens, model.distance_ratio(z)) for z in MAP_REDSHIFTS]
        live = time_calls(lambda: [m.magnification(gx, gy, k) for m, k in twins], 1, warmup=0)
    rows.append(Row(f"two 200x200 magnification maps, z_s = {MAP_REDSHIFTS[0]:g}, {MAP_REDSHIFTS[1]:g}", t,
                    f"{2 * gx.size / t.median:.3g} pixels/s", peak_mb(two_maps), live,
                    [("Lenstool (published)", LENSTOOL_TWO_AMPLIFICATION_MAPS)]))
    return rows


def standard_case(s: Settings) -> list[Row]:
    """The issue's 1 NFW + 300 dPIE lens: deflections on a 200 x 200 grid and at 100 points."""
    groups, (gx, gy), (px, py) = standard_lens_inputs()
    lens = Lens(groups)
    peer, kw = lenstronomy_model(lens)
    worst = worst_relative_difference(lens, peer, kw, px, py)
    n_components = sum(g.size for g in groups)

    def row_at(where: str, x: np.ndarray, y: np.ndarray, key: str, repeats: int, peer_repeats: int) -> Row:
        t = time_calls(lambda: lens.deflection(x, y), repeats)
        live = time_calls(lambda: peer.alpha(x, y, kw), peer_repeats, warmup=1 if x.size < 1000 else 0)
        return Row(f"deflection, {where}", t, pairs_rate(x.size * n_components, t),
                   peak_mb(lambda: lens.deflection(x, y)), live,
                   [(peer_name, QUOTED[peer_name][key]) for peer_name in ("lenstronomy", "autolens")])

    rows = [row_at("200x200 grid", gx, gy, "grid", s.n(7, 2), s.n(3, 1)),
            row_at("100 points", px, py, "points", s.n(200, 20), s.n(20, 3))]
    rows[0].note = f"max |dalpha|/|alpha| vs lenstronomy at the 100 points = {worst:.1e}"
    return rows


def likelihoods(s: Settings) -> list[Row]:
    """One likelihood call on A2744 with tiers, 7 free parameters, at seeded prior draws."""
    from clusterlens.fit.point_likelihood import make_likelihood

    model = a2744_likelihood_model()
    x, y = observed_positions(model)
    quoted_source = [(p, QUOTED[p]["source_likelihood"]) for p in ("lenstronomy", "autolens")]
    quoted_image = [(p, QUOTED[p]["image_likelihood"]) for p in ("lenstronomy", "autolens")]
    peer, kw = lenstronomy_model(model.lens)
    lens_work = time_calls(lambda: (peer.alpha(x, y, kw), peer.hessian(x, y, kw)), s.n(20, 3))
    rows = []
    cases = (("source", True, "source plane, fixed-lens cache", s.n(200, 20), lens_work, quoted_source),
             ("source", False, "source plane, all recomputed", s.n(100, 10), lens_work, quoted_source),
             ("image", True, "image plane", s.n(50, 5), "no equivalent", quoted_image))
    for kind, cache, label, n, live, quoted in cases:
        L = make_likelihood(model, kind, cache=cache)
        draws = prior_draws(L.parameters, n, seed=7)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = time_each(L, draws)
            peak = peak_mb(functools.partial(L, draws[0]))
        rows.append(Row(label, t, f"{1 / t.median:.3g} calls/s", peak, live, quoted))
    modes = ", ".join(f"{model.tiers[t].name}: {mode}" for t, mode in
                      make_likelihood(model).lens.tier_modes)
    rows[0].note = (f"{len(L.parameters)} free, {x.size} images, 258 dPIE; tiers {modes}; lenstronomy: alpha + "
                    f"Hessian of the 516 NIE at the images (the lens work of one uncached call)")
    return rows


def image_finding(s: Settings) -> list[Row]:
    """Images of system 1's source behind A2744 (best.par): mesh, per source, lenstronomy."""
    from clusterlens.solver import ImageFinder

    model = a2744_best()
    lens = model.lens
    first = model.point_datasets[0].name
    z = next(p.redshift for p in model.source_points if p.name == first)
    scale = model.distance_ratio(z)
    x, y = observed_positions(model)
    mine = np.array([r.name == first for r in model.point_datasets])
    ax, ay = lens.deflection(x[mine], y[mine], scale=scale)
    xs, ys = float(np.mean(x[mine] - ax)), float(np.mean(y[mine] - ay))

    finders = []
    mesh = time_calls(lambda: finders.append(ImageFinder(lens, scale)), s.n(3, 1))
    finder = finders[-1]
    per_source = time_calls(lambda: finder.find(xs, ys), s.n(30, 5))
    images = finder.find(xs, ys)
    # one mesh + one find per pair: fewer mesh builds than finds are timed, the extra finds are left out
    scratch = Timing(tuple(m + f for m, f in zip(mesh.seconds, per_source.seconds, strict=False)),
                     tuple(m + f for m, f in zip(mesh.cpu_seconds, per_source.cpu_seconds, strict=False)))
    quoted = [(p, QUOTED[p]["images"]) for p in ("lenstronomy", "autolens")]
    note = f"system {first} (z = {z}) source ({xs:.3f}, {ys:.3f}): {len(images)} images"
    if s.quick:
        live = "skipped (--quick)"
    else:
        from lenstronomy.LensModel.Solver.lens_equation_solver import LensEquationSolver

        peer, kw = lenstronomy_model(lens, scale)
        solver = LensEquationSolver(peer)
        window = 2 * (float(np.max(np.abs(np.concatenate([x, y])))) + 5.0)
        result, elapsed, finished = with_time_limit(
            lambda: solver.image_position_from_source(xs, ys, kw, min_distance=0.2, search_window=window,
                                                      precision_limit=1e-10, num_iter_max=100),
            LENSTRONOMY_SOLVER_LIMIT)
        if finished:
            live = elapsed
            theirs = np.column_stack(result)
            ours = images[["x", "y"]].to_numpy()
            found = sum(bool(np.min(np.hypot(*(ours - p).T)) < 1e-6) for p in theirs) if len(ours) else 0
            note += (f"; lenstronomy (min_distance 0.2\", window {window:.0f}\"): {len(theirs)} images, {found} "
                     f"among ours")
        else:
            live = f"> {LENSTRONOMY_SOLVER_LIMIT:.0f} s (stopped)"
    return [Row("ImageFinder mesh (one source redshift)", mesh, f"{finder.mesh.triangles.shape[0]} triangles",
                peak_mb(lambda: ImageFinder(lens, scale))),
            Row("find, per source (mesh built)", per_source, "", peak_mb(lambda: finder.find(xs, ys))),
            Row("one source from scratch (mesh + find)", scratch, "", None, live, quoted, note)]


def simulation(s: Settings) -> list[Row]:
    from clusterlens import simulate

    with tempfile.TemporaryDirectory() as tmp:
        count = iter(range(100))
        t = time_calls(lambda: simulate(EXAMPLE, Path(tmp) / f"out{next(count)}", seed=0), s.n(2, 1), warmup=0)
        peak = None if s.quick else peak_mb(lambda: simulate(EXAMPLE, Path(tmp) / "peak", seed=0))
    return [Row("simulate example_cluster", t, "", peak)]


def full_fit() -> list[Row]:
    from clusterlens.fit import run
    from clusterlens.fit.sampler import available_cores

    with tempfile.TemporaryDirectory() as tmp:
        quiet = Console(file=io.StringIO())
        holder = []
        t = time_calls(lambda: holder.append(run(EXAMPLE, dataset=Path(tmp) / "dataset", out=Path(tmp) / "fit",
                                                 progress=False, plots=False, console=quiet)), 1, warmup=0)
    result = holder[0]
    t = Timing(t.seconds)  # the workers' CPU time is not this process's
    return [Row(f"full example fit (simulate + dynesty, {available_cores()} cores)", t,
                f"{result.info['likelihood_calls']} calls", None,
                note=f"{result.info['niter']} iterations, log Z = {result.log_evidence:.2f}")]


# ---------------------------------------------------------------------------------------- output
def table(rows: list[Row], title: str) -> Table:
    out = Table(title=title, title_justify="left")
    out.add_column("case", no_wrap=True)
    out.add_column(escape("clusterlens [min-max] n"), justify="right", no_wrap=True)
    out.add_column("cpu", justify="right", no_wrap=True)
    out.add_column("throughput", justify="right", no_wrap=True)
    out.add_column("peak MB", justify="right", no_wrap=True)
    out.add_column(escape("lenstronomy live [min-max] n"), justify="right", no_wrap=True)
    out.add_column("cpu", justify="right", no_wrap=True)
    out.add_column("lenstr./ours wall, cpu", justify="right", no_wrap=True)
    out.add_column("quoted (their time / ours)", justify="left")
    for r in rows:
        peer = str(r.peer) if r.peer is not None else "-"
        peer_cpu = format_seconds(r.peer.cpu_median) if isinstance(r.peer, Timing) else "-"
        quoted = "; ".join(f"{who} {format_seconds(sec)} ({sec / r.ours.median:.3g}x)" for who, sec in r.quoted)
        peak = "-" if r.peak is None else f"{r.peak:.0f}" if r.peak >= 10 else f"{r.peak:.2g}"
        cpu = format_seconds(r.ours.cpu_median) if r.ours else "-"
        cells = (r.case, str(r.ours) if r.ours else "-", cpu, r.throughput, peak, peer, peer_cpu,
                 ratio(r.peer, r.ours), quoted or "-")
        out.add_row(*(escape(c) for c in cells))
    return out


def run_suite(args, console: Console) -> None:
    s = Settings(quick=args.quick)
    status = peers()
    console.print(f"machine: {machine()}")
    console.print("peers: " + "; ".join(f"{k} {v}" for k, v in status.items())
                  + " (autolens: only the figures quoted in issue #8)" * (status["autolens"] == "not installed"))
    console.print(f"mode: {'quick' if s.quick else 'full'}{' + fit' if args.with_fit else ''}")
    sections = [("lens-point throughput: Abell 2744, best.par (258 dPIE)", lens_throughput),
                ("issue #8 standard lens: 1 NFW + 300 dPIE", standard_case),
                ("one likelihood call: Abell 2744 with tiers (A2744_SLspec.par, 83 images, 7 free)", likelihoods),
                ("image finding: Abell 2744, best.par, one source", image_finding),
                ("simulation: datasets/example_cluster (image, points, files)", simulation)]
    if args.with_fit:
        sections.append(("fit: datasets/example_cluster (clusterlens.fit.run)", lambda _: full_fit()))
    notes = []
    for title, case in sections:
        rows = case(s)
        console.print(table(rows, title))
        notes += [f"{title.split(':')[0]}, {r.case}: {r.note}" for r in rows if r.note]
    console.print("notes:")
    for note in notes:
        console.print(f"  - {note}")
    console.print("  - quoted lenstronomy/autolens figures are for 1 NFW + 300 dPIE (the issue's lens), "
                  "likelihood rows here are A2744 (258 dPIE, 83 images): the same scale, not the same inputs")
    console.print(f"process peak RSS: {max_rss_mb():.0f} MB")


# ---------------------------------------------------------------------------------------- profile
def profile(console: Console, top: int = 15) -> None:
    """cProfile of the A2744 likelihood (cache on and off) and of the grid deflection: the top entries by
    own time, then clusterlens's functions by cumulative time."""
    from clusterlens.fit.point_likelihood import make_likelihood

    model = a2744_likelihood_model()
    best = a2744_best()
    gx, gy = covering_grid(*observed_positions(best), 200)
    jobs = []
    for cache, calls in ((True, 500), (False, 200)):
        L = make_likelihood(model, "source", cache=cache)
        draws = prior_draws(L.parameters, calls, seed=7)
        jobs.append((f"A2744 source-plane likelihood, cache {'on' if cache else 'off'}, {calls} calls",
                     lambda L=L, draws=draws: [L(v) for v in draws], calls))
    jobs.append(("A2744 deflection, 200x200 grid, 5 calls", lambda: [best.lens.deflection(gx, gy) for _ in range(5)],
                 5))
    package = str(Path(__file__).resolve().parents[1]) + "/"
    for label, job, calls in jobs:
        job()  # warm up (numba kernels, caches)
        profiler = cProfile.Profile()
        profiler.enable()
        job()
        profiler.disable()
        console.rule(f"{label}: {format_seconds(pstats.Stats(profiler).total_tt / calls)} per call under cProfile")
        for order, restriction, title in (
                ("tottime", (), "by own time"),
                ("cumulative", ("clusterlens/",), "clusterlens functions by cumulative time")):
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats(order).print_stats(*restriction, top)
            text = stream.getvalue().replace(package, "")
            console.print(f"[bold]{title}[/bold]")
            console.print(escape(text[text.index("   ncalls"):].rstrip()), highlight=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, slow peers skipped (smoke run, < 1 min)")
    parser.add_argument("--with-fit", action="store_true", help="also time the full example fit (minutes)")
    parser.add_argument("--profile", action="store_true",
                        help="print cProfile's top entries (A2744 likelihood, grid deflection) instead of the table")
    args = parser.parse_args()
    console = Console() if sys.stdout.isatty() else Console(width=240)
    if args.profile:
        profile(console)
    else:
        run_suite(args, console)


if __name__ == "__main__":
    main()
