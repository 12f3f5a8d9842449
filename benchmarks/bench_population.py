"""Training sets: realisations per second of ``simulate_many`` for the example cluster at its imaging size.

The population: the bundled example (450 x 450 pixels, 3 x 3 sub-pixels, 160 members, 8 sources with
point images) with member and BCG light ([lens_light] zero point 26) and a population.csv drawing the
halo mass and concentration, the BCG's sigma, the member tier's sigma_ref and the shear. Two runs of
``--n`` realisations on ``--workers`` local processes into a fresh store: images + noise maps + point
catalogues, then the same with kappa and magnification maps. Wall clock, including process start-up,
and CPU seconds per realisation (this process and its workers; on a shared machine the wall clock
includes time other processes held the cores, the CPU time does not).

deeplenstronomy (galaxy-scale images from a YAML of distributions) is the peer the issue names; it is
not installed here (no network), so its row says so.

Run: python benchmarks/bench_population.py [--n 4] [--workers 2]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from clusterlens.population import simulate_many

EXAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "example_cluster"
POPULATION_CSV = """family,galaxy,parameter,distribution,lower,upper,mean,sigma,values
host_halo,halo,m200,loguniform,6e14,2e15,,,
host_halo,halo,concentration,truncnormal,3,9,6,1.5,
main_lens_mass,BCG,sigma,uniform,280,400,,,
main_lens_mass,shear,gamma,uniform,0.0,0.1,,,
scaling_relations,members,sigma_ref,normal,,,170,15,
"""
BCG_LIGHT = ("galaxy,profile,x,y,redshift,q,angle,intensity,effective_radius,sersic_index\n"
             "BCG,Sersic,0.4,-0.3,0.4,0.75,35.0,5.0,3.0,4.0\n")


def population_folder(root: Path, outputs: list[str], n: int) -> Path:
    folder = root / "model"
    shutil.copytree(EXAMPLE, folder, dirs_exist_ok=True)
    (folder / "population.csv").write_text(POPULATION_CSV)
    (folder / "main_lens_light.csv").write_text(BCG_LIGHT)
    with open(folder / "dataset.toml", "a") as handle:
        handle.write(f"\n[lens_light]\nzero_point = 26.0\n\n[population]\nn = {n}\nseed = 1\n"
                     f"outputs = {outputs!r}\n".replace("'", '"'))
    return folder


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished worker processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(outputs: list[str], n: int, workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one simulate_many run of ``n`` realisations."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = population_folder(Path(tmp), outputs, n)
        start, cpu = time.perf_counter(), cpu_seconds()
        simulate_many(folder, Path(tmp) / "store", workers=workers)
        return time.perf_counter() - start, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4, help="realisations per run (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="local processes (default 2)")
    args = parser.parse_args()
    table = Table(title=f"simulate-many {EXAMPLE.name} 450x450, {args.n} realisations, {args.workers} workers "
                        f"(cpus: {os.cpu_count()})")
    for column in ("run", "seconds", "realisations/s", "CPU s/realisation"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for label, outputs in (("images + noise maps + points", ["images", "noise_maps", "points"]),
                           ("+ kappa and magnification maps",
                            ["images", "noise_maps", "kappa", "magnification", "points"])):
        seconds, cpu = run(outputs, args.n, args.workers)
        table.add_row(f"clusterlens: {label}", f"{seconds:.1f}", f"{args.n / seconds:.3f}", f"{cpu / args.n:.1f}")
    status = "installed but not run by this script" if importlib.util.find_spec("deeplenstronomy") else \
        "unavailable (not installed; no network to install it)"
    table.add_row(f"deeplenstronomy, galaxy-scale 450x450: {status}", "-", "-", "-")
    Console().print(table)


if __name__ == "__main__":
    main()
