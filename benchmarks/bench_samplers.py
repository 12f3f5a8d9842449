"""Samplers compared on full fits: likelihood calls, wall and CPU time, evidence, truth recovery.

Two benchmarks, each fitting simulated data whose truth is known:

- ``example``: the bundled example cluster (datasets/example_cluster, 10 free parameters) fitted with
  each of a list of sampler settings (``CASES``; ``--cases`` picks some). Per case: likelihood calls
  (independent of the machine's load), wall time, CPU time of this process and its workers, log Z,
  how many truths lie inside their central 95 % interval, and the largest shift of a posterior median
  from the first case's, in units of the first case's posterior sigma (agreement between samplers).
- ``scaling``: the M1149-like model (benchmarks/m1149_like.py: 53 free parameters, plus the BCG's
  axis ratio here for the issue's 54) with 10, 20, 40 and 54 free parameters: the first N of one
  seeded permutation of its 54 priors are free (nested subsets), the others fixed at their true
  values; the source-plane likelihood, or the image plane's (``--likelihood image``; with ``--within WIDTH``
  a source-plane fit first, then the image-plane fit with each prior restricted to that posterior's
  median -+ WIDTH sd, the figures those of both fits together). Both samplers
  with clusterlens' defaults (dynesty: nlive 100, 2 n + 2 above 49 free, queue 16;
  nautilus: its own, or --nautilus-nlive / --n-networks). Per fit: calls, wall, CPU, log Z, the share of
  parameters whose truth lies inside their central 99.7 % interval. Writes a plot of wall time (and
  calls) against free parameters, both samplers (``--output``, default benchmarks/samplers_scaling.png),
  from every fit recorded next to it (``samplers_scaling.json``: a run may fit some sizes or samplers only).

Timings on a shared machine are noisy: the call counts and the CPU times are the figures to compare;
wall / CPU tells how much of the machine the run had.

Run:
    python benchmarks/bench_samplers.py example [--cores 2] [--cases dynesty,nautilus]
    python benchmarks/bench_samplers.py scaling [--sizes 10,20,40,54] [--samplers dynesty,nautilus] [--cores 2]
        [--likelihood source|image [--within WIDTH]] [--quick]
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import clusterlens
from clusterlens.fit.nautilus_sampler import NautilusSettings, sample_nautilus
from clusterlens.fit.point_likelihood import make_likelihood
from clusterlens.fit.priors import narrowed_priors, replace_priors, with_priors
from clusterlens.fit.sampler import SamplerSettings, default_nlive, sample

sys.path.insert(0, str(Path(__file__).resolve().parent))

import m1149_like  # noqa: E402 -- the benchmark model's generator, next to this script
from common import EXAMPLE, ROOT, machine  # noqa: E402

EXAMPLE_DATASET = ROOT / "results" / "bench_fit" / "dataset"
OUTPUT = Path(__file__).resolve().parent / "samplers_scaling.png"
SIZES = (10, 20, 40, 54)
SUBSET_SEED = 54

#: name -> settings of the example's cases (the first is the reference of the median shifts)
CASES: dict[str, SamplerSettings | NautilusSettings] = {
    "dynesty nlive 100 rwalk (default: auto = rwalk at 10-20 free)": SamplerSettings(nlive=100, sample="rwalk"),
    "dynesty nlive 50 rwalk": SamplerSettings(nlive=50, sample="rwalk"),
    "dynesty nlive 100 unif": SamplerSettings(nlive=100, sample="unif"),
    "dynesty nlive 100 rslice": SamplerSettings(nlive=100, sample="rslice"),
    "dynesty nlive 100 rwalk dlogz 0.5": SamplerSettings(nlive=100, sample="rwalk", dlogz=0.5),
    "dynesty nlive 100 rwalk dynamic": SamplerSettings(nlive=100, sample="rwalk", dynamic=True),
    "nautilus 2000 live, 4 networks (default)": NautilusSettings(nlive=2000, n_networks=4),
    "nautilus 1000 live, 2 networks": NautilusSettings(nlive=1000, n_networks=2),
    "nautilus 500 live, 2 networks, n_eff 3000": NautilusSettings(nlive=500, n_networks=2, n_eff=3000),
}


@dataclass(frozen=True)
class Outcome:
    """One finished fit: calls, wall and CPU seconds (this process + its workers), evidence, posterior."""

    calls: int
    wall: float
    cpu: float
    log_z: float
    log_z_error: float
    samples: np.ndarray
    weights: np.ndarray

    def quantiles(self, q) -> np.ndarray:
        """Weighted quantiles ``q`` of each parameter, shape (len(q), n_parameters)."""
        out = []
        for column in self.samples.T:
            order = np.argsort(column)
            cumulative = np.cumsum(self.weights[order])
            out.append(np.interp(q, cumulative / cumulative[-1], column[order]))
        return np.array(out).T

    def share_inside(self, truth: np.ndarray, level: float) -> float:
        """Fraction of the parameters whose truth lies inside their central ``level`` interval."""
        low, high = self.quantiles([(1 - level) / 2, (1 + level) / 2])
        return float(np.mean((low <= truth) & (truth <= high)))

    def sigma(self) -> np.ndarray:
        mean = self.weights @ self.samples
        return np.sqrt(self.weights @ (self.samples - mean) ** 2)

    def largest_median_shift(self, reference: Outcome) -> float:
        """max over parameters of |median - reference median| / reference posterior sigma."""
        return float(np.max(np.abs(self.quantiles([0.5])[0] - reference.quantiles([0.5])[0]) / reference.sigma()))


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished (reaped) children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_fit(likelihood, settings: SamplerSettings | NautilusSettings, cores: int) -> Outcome:
    """Sample ``likelihood`` with ``settings`` (dynesty or nautilus by their type) on ``cores`` processes."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    if isinstance(settings, NautilusSettings):
        results = sample_nautilus(likelihood, settings, cores=cores, progress=False)
    else:
        results = sample(likelihood, settings, cores=cores, progress=False)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    log_weights = np.asarray(results.logwt, float)
    weights = np.exp(log_weights - log_weights.max())
    return Outcome(calls=int(np.sum(results.ncall)), wall=wall, cpu=cpu, log_z=float(results.logz[-1]),
                   log_z_error=float(results.logzerr[-1]), samples=np.asarray(results.samples, float),
                   weights=weights / weights.sum())


def example(args, console: Console) -> None:
    dataset = clusterlens.ensure_dataset(EXAMPLE, EXAMPLE_DATASET, seed=0)
    model = clusterlens.load_model(dataset)
    likelihood = make_likelihood(model, "source", threads=1)
    truth = likelihood.parameters.values(model)
    names = list(CASES) if args.cases is None else [n for n in CASES if any(c in n for c in args.cases.split(","))]
    table = Table(title=f"the example fit ({len(truth)} free, source plane, {args.cores} cores): one fit per case",
                  title_justify="left")
    for column in ("case", "calls", "wall s", "cpu s", "wall/cpu", "calls / ref", "log Z", "truths in 95 %",
                   "max |median shift| / sigma_ref"):
        table.add_column(column, justify="left" if column == "case" else "right")
    reference = None
    for name in names:
        outcome = run_fit(likelihood, CASES[name], args.cores)
        reference = reference or outcome
        table.add_row(name, str(outcome.calls), f"{outcome.wall:.1f}", f"{outcome.cpu:.1f}",
                      f"{outcome.wall / outcome.cpu:.2f}", f"{outcome.calls / reference.calls:.2f}",
                      f"{outcome.log_z:.2f} +/- {outcome.log_z_error:.2f}",
                      f"{round(outcome.share_inside(truth, 0.95) * len(truth))}/{len(truth)}",
                      f"{outcome.largest_median_shift(reference):.2f}")
        console.print(f"done: {name}: {outcome.calls} calls, {outcome.wall:.1f} s wall")
    console.print(table)


def scaling_model(n_free: int):
    """The M1149-like dataset with the first ``n_free`` of a seeded permutation of its 54 priors free."""
    model = clusterlens.load_model(m1149_like.ensure())
    model = with_priors(model, [dict(family="main_lens_mass", galaxy="BCG", parameter="q", prior="uniform",
                                     lower=0.6, upper=0.95)])
    priors = list(model.priors)
    if n_free > len(priors):
        raise ValueError(f"the M1149-like model has {len(priors)} free parameters, asked for {n_free}")
    order = np.random.default_rng(SUBSET_SEED).permutation(len(priors))
    return model, replace_priors(model, [priors[i] for i in sorted(order[:n_free])])


def record_key(sampler: str, kind: str, within: bool = False) -> str:
    """A line of the record and the plot: the sampler's name, with the likelihood unless it is the source plane's
    (and ``within``: after a source-plane fit, inside its posterior)."""
    if kind == "source":
        return sampler
    return f"{sampler}, {kind} plane" + (" within the source-plane posterior (both fits)" if within else "")


def settings_text(sampler: str, settings: list[dict]) -> str:
    """The settings of a sampler's fits in a legend: dynesty's live points (and queue), nautilus' live points
    and networks."""
    def values(key):
        return "/".join(str(v) for v in dict.fromkeys(s[key] for s in settings))

    if sampler.startswith("dynesty"):
        return f"nlive {values('nlive')}, queue {values('queue_size')}"
    return f"{values('nlive')} live, {values('n_networks')} networks"


def plot(rows: dict[str, dict[str, dict]], path: Path, settings: str) -> None:
    """Wall time and calls against free parameters, one line per sampler (``rows``: sampler -> size -> row)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for name, outcomes in rows.items():
        n = sorted(outcomes, key=int)
        label = f"{name}: {settings_text(name, [outcomes[k]['settings'] for k in n])}"
        axes[0].semilogy([int(k) for k in n], [outcomes[k]["wall"] for k in n], "o-", label=label)
        axes[1].semilogy([int(k) for k in n], [outcomes[k]["calls"] for k in n], "o-", label=label)
    for ax, ylabel in zip(axes, ("wall time [s]", "likelihood calls"), strict=True):
        ax.set_xlabel("free parameters")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"M1149-like model, source-plane likelihood: full fits, {settings}", fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def scaling(args, console: Console) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        samplers: dict[str, SamplerSettings | NautilusSettings | None] = {
            "dynesty": SamplerSettings(nlive=25), "nautilus": NautilusSettings(nlive=200, n_networks=1, n_eff=500)}
    else:  # dynesty: default_nlive(n) below
        samplers = {"dynesty": None, "nautilus": NautilusSettings(nlive=args.nautilus_nlive,
                                                                  n_networks=args.n_networks)}
    samplers = {name: settings for name, settings in samplers.items() if name in args.samplers.split(",")}
    # every finished fit is kept in the record (a JSON file), so that a long scaling run can be made in parts
    record = args.output.with_suffix(".json")
    rows: dict[str, dict[str, dict]] = json.loads(record.read_text()) if record.exists() and not args.quick else {}
    if args.plot_only:
        plot(rows, args.output, "2 cores")
        console.print(f"figure: {args.output} (from {record})")
        return
    kind = args.likelihood
    if args.within is not None and (kind == "source" or not args.within > 0):
        raise SystemExit("--within WIDTH (> 0) is for a second, image-plane fit: add --likelihood image")
    table = Table(title=f"M1149-like model, {kind} likelihood, {args.cores} cores", title_justify="left")
    for column in ("free", "sampler", "calls", "wall s", "cpu s", "wall/cpu", "log Z", "truths in 99.7 %"):
        table.add_column(column, justify="right")
    for n in sizes:
        truth_model, model = scaling_model(n)
        likelihood = make_likelihood(model, "source" if args.within else kind, threads=1)
        truth = likelihood.parameters.values(truth_model)
        for name, settings in samplers.items():
            settings = settings or SamplerSettings(nlive=default_nlive(n))
            outcome = run_fit(likelihood, settings, args.cores)
            row = dict(calls=outcome.calls, wall=outcome.wall, cpu=outcome.cpu, log_z=outcome.log_z,
                       log_z_error=outcome.log_z_error, inside=outcome.share_inside(truth, 0.997),
                       settings=settings.as_dict(), cores=args.cores)
            if args.within:  # the second stage: the image-plane fit inside the source-plane posterior
                first = dict(row)
                narrowed, log_mass = narrowed_priors(likelihood.parameters, outcome.samples, outcome.weights,
                                                     args.within)
                inner = make_likelihood(with_priors(model, narrowed, replace=True), kind, threads=1)
                outcome = run_fit(inner, settings, args.cores)
                row = dict(calls=first["calls"] + outcome.calls, wall=first["wall"] + outcome.wall,
                           cpu=first["cpu"] + outcome.cpu, log_z=outcome.log_z + log_mass,
                           log_z_error=outcome.log_z_error, inside=outcome.share_inside(truth, 0.997),
                           settings=settings.as_dict(), cores=args.cores, width=args.within, source_stage=first,
                           second_stage=dict(calls=outcome.calls, wall=outcome.wall, cpu=outcome.cpu,
                                             log_z_box=outcome.log_z, log_prior_mass=log_mass))
                console.print(f"source stage: {first['calls']} calls, {first['wall']:.0f} s; {kind} stage inside "
                              f"median -+ {args.within:g} sd: {outcome.calls} calls, {outcome.wall:.0f} s")
            rows.setdefault(record_key(name, kind, bool(args.within)), {})[str(n)] = row
            cells = (str(n), name, str(row["calls"]), f"{row['wall']:.0f}", f"{row['cpu']:.0f}",
                     f"{row['wall'] / row['cpu']:.2f}", f"{row['log_z']:.2f} +/- {row['log_z_error']:.2f}",
                     f"{100 * row['inside']:.0f} %")
            table.add_row(*cells)
            console.print("done: " + " | ".join(cells))  # each fit's row as soon as it ends (long runs)
            if not args.quick:
                record.write_text(json.dumps(rows, indent=1))
            plot(rows, args.output, "--quick settings (smoke run)" if args.quick else f"{args.cores} cores")
    console.print(table)
    console.print(f"figure: {args.output} (every fit recorded: {record})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="benchmark", required=True)
    p = sub.add_parser("example", help="the example fit with each sampler setting of CASES")
    p.add_argument("--cases", default=None, help="comma-separated parts of case names (default: every case)")
    p.add_argument("--cores", type=int, default=2, help="processes evaluating the likelihood (default 2)")
    p = sub.add_parser("scaling", help="wall time and calls against free parameters, both samplers")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="free-parameter counts (default 10,20,40,54)")
    p.add_argument("--cores", type=int, default=2, help="processes evaluating the likelihood (default 2)")
    p.add_argument("--samplers", default="dynesty,nautilus", help="comma-separated samplers (default both)")
    p.add_argument("--output", type=Path, default=OUTPUT, help=f"figure path (default {OUTPUT.name})")
    p.add_argument("--plot-only", action="store_true", help="no fit: the figure from the recorded fits")
    p.add_argument("--likelihood", choices=("source", "image"), default="source",
                   help="the fits' point likelihood (default source; image: the image plane's)")
    p.add_argument("--within", type=float, default=None, metavar="WIDTH",
                   help="fit the --likelihood inside a source-plane fit's posterior: each prior restricted to "
                        "the median -+ WIDTH sd (clusterlens.fit.priors.narrowed_priors); the figures add both fits")
    p.add_argument("--nautilus-nlive", type=int, default=NautilusSettings.nlive,
                   help=f"nautilus' live points (default {NautilusSettings.nlive}, its own)")
    p.add_argument("--n-networks", type=int, default=NautilusSettings.n_networks,
                   help=f"nautilus' networks per bound (default {NautilusSettings.n_networks}, its own)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run of the script: few live points (dynesty 25, nautilus 200, 1 network, n_eff 500)")
    args = parser.parse_args()
    console = Console() if sys.stdout.isatty() else Console(width=180)
    console.print(f"machine: {machine()}")
    {"example": example, "scaling": scaling}[args.benchmark](args, console)


if __name__ == "__main__":
    main()
