"""The ``clusterlens`` command line. Every command calls the public API; bad input exits 1 with the
list of problems (file:line: column value: expectation) and no Python traceback unless ``--traceback``
is given (for bug reports). Each command imports what it needs when it runs, so ``--help`` is quick."""
from __future__ import annotations

import argparse
import functools
import sys
import warnings
from pathlib import Path

from ._version import __version__
from .errors import LikelihoodError, ModelError
from .sampling_methods import BOUNDS, LIKELIHOODS, METHODS, SAMPLERS, WITHIN_WIDTH


@functools.cache
def _console():
    """The rich console of the commands' output (rich is imported by the first command that prints)."""
    from rich.console import Console

    console = Console()
    # a pipe or a file gets the tables' natural width (rich's 80 columns would truncate names)
    return console if console.is_terminal else Console(width=400)


def _validate(args) -> int:
    from .model import load_model

    model = load_model(args.folder)
    counts = ", ".join(f"{len(t)} {n}" for n, t in model.tables.items())
    _console().print(f"[green]valid[/green] {args.folder}: {counts}")
    return 0


def _show(args) -> int:
    """A model folder's tables, or a results folder's fit summary (it holds summary.json)."""
    from .fit.results import SUMMARY_JSON, read_results
    from .model import load_model

    if (args.folder / SUMMARY_JSON).is_file():
        result = read_results(args.folder)
        print(repr(result))
        result.show(_console())
        return 0
    load_model(args.folder).show(all_rows=args.all)
    return 0


def _schemas(args) -> int:
    from .schemas import write_schemas

    for path in write_schemas(args.out):
        _console().print(str(path))
    return 0


def _fit_options(args) -> dict:
    return dict(likelihood=args.likelihood, sampler=args.sampler, nlive=args.nlive, cores=args.cores,
                resume=args.resume, overwrite=args.overwrite, bound=args.bound, sample_method=args.sample,
                dlogz=args.dlogz, dynamic=args.dynamic, queue_size=args.queue_size,
                checkpoint_every=args.checkpoint_every, plots=not args.no_plots, progress=not args.quiet,
                priors=args.priors, within=args.within, within_width=args.within_width, console=_console())


def _fitting(command, again: str = "run the same command with --resume") -> int:
    """Run a fit; Ctrl-C prints one line (exit status 130, as for any command stopped by SIGINT) that
    promises a resume only when the run has written its checkpoint."""
    from .fit.sampler import RootFailed

    try:
        result = command()
    except RootFailed:
        return 1
    except KeyboardInterrupt as err:
        checkpoint = getattr(err, "checkpoint", None)
        if checkpoint is not None:
            print(f"interrupted: {again} to continue from its checkpoint {checkpoint}", file=sys.stderr)
        else:
            print("interrupted before the first checkpoint: nothing to resume (run the command again to start)",
                  file=sys.stderr)
        return 130
    if result is not None:
        _console().print(f"[green]wrote[/green] {result.folder}")
    return 0


def _fit(args) -> int:
    from .fit import fit

    return _fitting(lambda: fit(args.dataset, out=args.out, seed=args.seed, **_fit_options(args)))


def _run(args) -> int:
    """``run`` keeps results/<name>/ up to date for the edit-and-re-run loop: by default a finished fit
    of the same dataset and settings is reused, an interrupted one resumed, a changed one re-run (only
    the files a fit writes are replaced); --resume alone is strict, --overwrite alone starts afresh."""
    from .fit import run

    return _fitting(lambda: run(args.folder, dataset=args.dataset, out=args.out, seed=args.seed,
                                **_fit_options(args)), again="run the same command again")


def _chi2(args) -> int:
    import json

    from .fit.chi2_report import score_folder

    report = score_folder(args.folder, likelihood=args.likelihood)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        _console().print(report)
    return 0


def _simulate(args) -> int:
    from .simulation import simulate, summary_table

    folder = simulate(args.model_folder, args.out_folder, seed=args.seed, overwrite=args.overwrite,
                      progress=not args.quiet)
    _console().print(summary_table(folder))
    _console().print(f"[green]wrote[/green] {folder} (seed {args.seed})")
    return 0


def _simulate_many(args) -> int:
    from .population import simulate_many

    def progress(done: int, total: int) -> None:
        if not args.quiet:
            print(f"\r{done}/{total} realisations", end="" if done < total else "\n", file=sys.stderr, flush=True)

    out = simulate_many(args.model_folder, args.out, n=args.n, seed=args.seed, workers=args.workers,
                        scheduler=args.scheduler, folders=args.folders, progress=progress)
    _console().print(f"[green]wrote[/green] {out}")
    return 0


def _import_lenstool(args) -> int:
    from .lenstool import import_lenstool

    folder = import_lenstool(args.par, args.images, args.out, position_sigma=args.position_sigma,
                             overwrite=args.overwrite, values=args.values)
    _console().print(f"[green]imported[/green] {args.par} -> {folder}")
    return 0


def _export_lenstool(args) -> int:
    from .lenstool import export_lenstool

    path = export_lenstool(args.folder, args.out, overwrite=args.overwrite)
    _console().print(f"[green]exported[/green] {args.folder} -> {path}")
    return 0


def _add_fit_arguments(p: argparse.ArgumentParser, seed_help: str) -> None:
    p.add_argument("--priors", type=Path, default=None, help="a priors CSV replacing the folder's priors.csv")
    p.add_argument("--likelihood", choices=LIKELIHOODS, default=None, help=LIKELIHOOD_HELP)
    p.add_argument("--within", type=Path, default=None, metavar="RESULTS",
                   help="fit inside the posterior of a results folder of the same free parameters (each prior "
                        "restricted to its median -+ --within-width sd): e.g. the image plane after a source-plane fit")
    p.add_argument("--within-width", type=float, default=WITHIN_WIDTH, metavar="SD",
                   help=f"half-width of the --within box in posterior standard deviations (default {WITHIN_WIDTH:g})")
    p.add_argument("--sampler", choices=SAMPLERS, default="dynesty",
                   help="dynesty (nested sampling, the default) or nautilus (neural-network-boosted importance "
                        "nested sampling, fewer likelihood calls; pip install clusterlens[nautilus])")
    p.add_argument("--nlive", type=int, default=None,
                   help="live points (default 100 with dynesty, 2 x free + 2 above 49 free; 2000 with nautilus)")
    p.add_argument("--cores", type=int, default=None,
                   help="processes evaluating the likelihood (default: every core available; with dynesty, one "
                        "when splitting its queue would not save time)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace an existing results folder")
    p.add_argument("--seed", type=int, default=0, help=seed_help)
    p.add_argument("--bound", choices=BOUNDS, default="multi", help="dynesty bounding method (default multi)")
    p.add_argument("--sample", choices=METHODS, default="auto", help="dynesty proposal method (default auto)")
    p.add_argument("--dlogz", type=float, default=None,
                   help="dynesty: stop when the remaining log-evidence is below this")
    p.add_argument("--dynamic", action="store_true", help="dynesty's dynamic nested sampling (posterior-weighted)")
    p.add_argument("--queue-size", type=int, default=None,
                   help="points proposed at once and evaluated together (dynesty default 16, or the number of "
                        "cores when there are more; the chain depends on it, not on the cores; nautilus: its "
                        "batch size, default 100)")
    p.add_argument("--checkpoint-every", type=float, default=60.0,
                   help="seconds between dynesty's checkpoints (default 60; nautilus writes one after every batch)")
    p.add_argument("--no-plots", action="store_true", help="skip corner.png and images.png")
    p.add_argument("--quiet", action="store_true",
                   help="no progress line (it is drawn only on a terminal, never in a pipe, a file or under CI)")


# ---------------------------------------------------------------- products (maps, predictions, mass, catalogues)
def _redshifts(text: str) -> list[float]:
    try:
        return [float(z) for z in text.split(",") if z.strip()]
    except ValueError:
        raise ValueError(f"--z: expected comma-separated redshifts such as 1,2,9, got {text!r}") from None


def _maps(args) -> int:
    from .products import fits_maps, make, regions_files
    from .products.posterior import open_input
    from .products.sky import parse_sky

    product = open_input(args.input)
    center = None if args.center is None else parse_sky(args.center, "--center")
    zs = _redshifts(args.z)
    result = fits_maps.make_maps(product, args.out, zs, pixel_scale=args.pixel_scale, size=args.size, center=center,
                                 samples=args.samples, seed=args.seed, potential=not args.no_potential)
    what = f"median and 16/84 % of {result.n_samples} posterior samples" if result.n_samples else "one model"
    _console().print(f"[green]wrote[/green] {len(result.paths)} FITS maps ({what}) in {result.seconds:.1f} s")
    regions = regions_files.available()
    if not regions:
        warnings.warn(f"no DS9 region files: {regions_files.EXTRA}", stacklevel=1)
    grid = fits_maps.map_grid(product.model, args.pixel_scale, args.size, center)
    curves = make.make_curves(product, grid, zs, args.out, regions)
    images = make.make_images(product, args.out, regions)
    make.make_plots(product, grid, zs, curves, images, args.out)
    _console().print(f"[green]wrote[/green] curves, images{' and regions' if regions else ''} and plots in {args.out}")
    return 0


def _predict(args) -> int:
    from .atomic import write_text
    from .csvio import frame_text
    from .products.posterior import open_input
    from .products.predict import predict_images, predict_posterior, predictions_renderable
    from .products.sky import parse_sky_redshift

    if (args.source is None) == (args.image is None):
        raise ValueError("give exactly one of --source RA,DEC,Z or --image RA,DEC,Z")
    given = "source" if args.source is not None else "image"
    ra, dec, z = parse_sky_redshift(args.source or args.image, f"--{given}")
    product = open_input(args.input)
    if product.is_posterior:
        table = predict_posterior(product.model, product.draws(args.samples, args.seed), ra, dec, z, given,
                                  args.min_magnification)
    else:
        table = predict_images(product.model, ra, dec, z, given, args.min_magnification)
    _console().print(predictions_renderable(table, f"images of the {given} at RA {ra:.6f}, Dec {dec:.6f}, z = {z:g}"))
    if args.out is not None:
        write_text(args.out, frame_text(table))
        _console().print(f"[green]wrote[/green] {args.out}")
    return 0


def _mass_profile(args) -> int:
    import numpy as np

    from .products.make import make_mass_profile
    from .products.posterior import open_input
    from .products.sky import parse_sky

    center = None if args.center is None else parse_sky(args.center, "--center")
    radii = np.geomspace(args.rmin, args.rmax, args.radii)
    profile, einstein = make_mass_profile(open_input(args.input), args.out, _redshifts(args.z), center, radii,
                                          args.samples, args.seed)
    for z, theta in einstein[["z", "theta_e"]].itertuples(index=False):
        _console().print(f"effective Einstein radius at z = {z:g}: {theta:.3f} arcsec")
    _console().print(f"[green]wrote[/green] mass_profile.csv, einstein_radii.csv, mass_profile.png in {args.out}")
    return 0


def _import_catalogue(args) -> int:
    from .products.catalogue import import_catalogue

    path = import_catalogue(args.table, args.into, args.kind, tier=args.tier, sigma=args.sigma,
                            overwrite=args.overwrite)
    _console().print(f"[green]imported[/green] {args.table} -> {path}")
    return 0


def _add_product_commands(sub) -> None:
    """maps, predict, mass-profile and import-catalogue (clusterlens.products)."""
    source_help = "a model folder, or a fit's results folder (posterior: median and 16/84 %% over --samples draws)"
    p = sub.add_parser("maps", help="FITS maps (kappa, shear, deflections, potential, magnification), curves, "
                                    "DS9 regions and plots of a model or a fit's posterior")
    p.add_argument("input", type=Path, metavar="FOLDER_OR_RESULTS", help=source_help)
    p.add_argument("--out", type=Path, required=True, help="folder to write")
    p.add_argument("--z", default="1,2,9", help="source redshifts of the magnification maps and curves (default 1,2,9)")
    p.add_argument("--pixel-scale", type=float, default=0.2, help="arcsec per pixel (default 0.2)")
    p.add_argument("--size", type=int, default=200, help="pixels a side (default 200)")
    p.add_argument("--center", default=None, help="RA,DEC of the map centre (default: the data image's centre)")
    p.add_argument("--samples", type=int, default=100, help="posterior draws of a results folder (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the posterior draws (default 0)")
    p.add_argument("--no-potential", action="store_true", help="skip psi.fits (the slowest map)")
    p.set_defaults(func=_maps)

    p = sub.add_parser("predict", help="every image of a source (or the counter-images of an image): position, "
                                       "magnification, parity, time delay")
    p.add_argument("input", type=Path, metavar="FOLDER_OR_RESULTS", help=source_help)
    p.add_argument("--source", default=None, help="RA,DEC,Z of a source (degrees or hh:mm:ss,dd:mm:ss)")
    p.add_argument("--image", default=None, help="RA,DEC,Z of an observed image: where are its counter-images?")
    p.add_argument("--out", type=Path, default=None, help="CSV file to write")
    p.add_argument("--min-magnification", type=float, default=None,
                   help="leave out images with |mu| below this (default: dataset.toml [points] setting)")
    p.add_argument("--samples", type=int, default=100, help="posterior draws of a results folder (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the posterior draws (default 0)")
    p.set_defaults(func=_predict)

    p = sub.add_parser("mass-profile", help="projected enclosed mass M(<R) and effective Einstein radii, "
                                            "with posterior bands from a results folder")
    p.add_argument("input", type=Path, metavar="FOLDER_OR_RESULTS", help=source_help)
    p.add_argument("--out", type=Path, required=True, help="folder to write")
    p.add_argument("--center", default=None, help="RA,DEC of the centre (default: the dataset reference)")
    p.add_argument("--z", default="1,2,9", help="source redshifts of the Einstein radii (default 1,2,9)")
    p.add_argument("--rmin", type=float, default=0.5, help="smallest radius [arcsec] (default 0.5)")
    p.add_argument("--rmax", type=float, default=100.0, help="largest radius [arcsec] (default 100)")
    p.add_argument("--radii", type=int, default=60, help="radii, log-spaced (default 60)")
    p.add_argument("--samples", type=int, default=100, help="posterior draws of a results folder (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the posterior draws (default 0)")
    p.set_defaults(func=_mass_profile)

    p = sub.add_parser("import-catalogue", help="an RA/Dec table (CSV or FITS) into scaling_galaxies.csv or "
                                                "point_datasets.csv of a model folder")
    p.add_argument("table", type=Path, help="CSV or FITS table: id, ra, dec and mag (members) or image (images)")
    p.add_argument("--into", type=Path, required=True, help="model folder (its dataset.toml gives the reference)")
    p.add_argument("--as", dest="kind", choices=("members", "images"), required=True,
                   help="members -> scaling_galaxies.csv, images -> point_datasets.csv")
    p.add_argument("--tier", default=None, help="tier of members without a tier column")
    p.add_argument("--sigma", type=float, default=None, help="positional error [arcsec] of images without sigma")
    p.add_argument("--overwrite", action="store_true", help="replace an existing family file")
    p.set_defaults(func=_import_catalogue)


LIKELIHOOD_HELP = ("source-plane (fast), image-plane or Lenstool's chi2 of the multiple images (its forme from "
                   "dataset.toml [fit]); default: dataset.toml's [fit] likelihood, else source")
TRACEBACK_HELP = "on an error, show the Python traceback (for a bug report) instead of the one-line message"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clusterlens",
                                     description="Cluster strong-lens modelling where CSV files are the model.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--traceback", action="store_true", help=TRACEBACK_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check a model folder; exit 1 with every problem listed")
    p.add_argument("folder", type=Path, metavar="FOLDER",
                   help="a model or dataset folder (dataset.toml and the family CSVs), not one CSV file")
    p.set_defaults(func=_validate)

    p = sub.add_parser("show", help="print a model folder's tables, or a fit's summary")
    p.add_argument("folder", type=Path, metavar="FOLDER",
                   help="a model or dataset folder, or a results folder of `fit`/`run` (its posterior summary)")
    p.add_argument("--all", action="store_true", help="list every member instead of a tier summary")
    p.set_defaults(func=_show)

    p = sub.add_parser("run", help="simulate a model folder's dataset (or reuse it) and fit it: the main job",
                       description="Simulate results/<name>/dataset from MODEL_FOLDER (reused while the model "
                                   "and seed are unchanged; a folder with point_datasets.csv is fitted as it is), "
                                   "then fit it into results/<name>/fit_<likelihood>. Re-running reuses a finished "
                                   "fit of the same dataset and settings, resumes an interrupted one and re-fits "
                                   "after an edit (--resume alone: only continue; --overwrite alone: start afresh).")
    p.add_argument("folder", type=Path, metavar="MODEL_FOLDER", help="the model folder to simulate and fit")
    p.add_argument("--dataset", type=Path, default=None, help="dataset folder (default results/<name>/dataset)")
    p.add_argument("--out", type=Path, default=None, help="results folder (default results/<name>/fit_<likelihood>)")
    _add_fit_arguments(p, seed_help="seed of the simulation and of the sampler (default 0)")
    p.set_defaults(func=_run)

    p = sub.add_parser("fit", help="fit a dataset folder's free parameters (priors.csv) by nested sampling",
                       description="Nested sampling (dynesty, or nautilus with --sampler nautilus) of the free "
                                   "parameters of DATASET given its point_datasets.csv; writes samples, summaries, "
                                   "best-fit model folders and plots. Under mpirun the MPI ranks evaluate the "
                                   "likelihood (needs mpi4py).")
    p.add_argument("dataset", type=Path, metavar="DATASET",
                   help="a dataset folder: a model folder with point_datasets.csv (e.g. one `simulate` wrote)")
    p.add_argument("--out", type=Path, default=None,
                   help="results folder (default: fit_<likelihood> next to a folder named dataset, as `run` "
                        "writes, else results/<DATASET folder name>_<likelihood>)")
    _add_fit_arguments(p, seed_help="seed of the sampler (default 0)")
    p.set_defaults(func=_fit)

    p = sub.add_parser("chi2", help="score a model folder's multiple images without fitting (like Lenstool's chires)",
                       description="Total chi2, degrees of freedom, per-system rms and chi2 and per-image observed "
                                   "and predicted positions, magnification and chi2 of FOLDER at its CSV values: a "
                                   "dataset folder, or a fit's max_likelihood/median folder (its images are read "
                                   "from the fitted dataset).")
    p.add_argument("folder", type=Path, metavar="FOLDER",
                   help="a dataset folder, or a fit's max_likelihood or median folder")
    p.add_argument("--likelihood", choices=LIKELIHOODS, default=None, help=LIKELIHOOD_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.set_defaults(func=_chi2)

    p = sub.add_parser("simulate", help="simulate a dataset folder (image, point datasets, manifest) from a model")
    p.add_argument("model_folder", type=Path, metavar="MODEL_FOLDER", help="the model folder to simulate")
    p.add_argument("out_folder", type=Path, metavar="OUT_FOLDER", help="the dataset folder to write")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace a folder holding files clusterlens did not write")
    p.add_argument("--quiet", action="store_true", help="no progress line (drawn only on a terminal, never under CI)")
    p.set_defaults(func=_simulate)

    p = sub.add_parser("simulate-many", help="simulate many realisations of a population (population.csv) for ML",
                       description="Realisation i of MODEL_FOLDER's population (population.csv, dataset.toml "
                                   "[population]) drawn from SeedSequence([seed, i]), written to a Zarr + Parquet "
                                   "store (or dataset folders with --folders); an interrupted run resumes.")
    p.add_argument("model_folder", type=Path, metavar="MODEL_FOLDER")
    p.add_argument("--out", type=Path, required=True, help="the store (or the folder of dataset folders)")
    p.add_argument("--n", type=int, default=None, help="realisations (default [population] n)")
    p.add_argument("--seed", type=int, default=None, help="base seed (default [population] seed)")
    p.add_argument("--workers", type=int, default=None, help="local processes (default: every core)")
    p.add_argument("--scheduler", default=None, help="address of a Dask scheduler (pip install clusterlens[dask])")
    p.add_argument("--folders", action="store_true", help="write each realisation as a dataset folder")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=_simulate_many)

    p = sub.add_parser("import-lenstool", help="import a Lenstool .par (+ image catalogue) into a model folder")
    p.add_argument("par", type=Path, metavar="PAR", help="the Lenstool parameter file (.par)")
    p.add_argument("--images", type=Path, default=None, help="multiple-image catalogue (id ra dec a b theta z mag)")
    p.add_argument("--position-sigma", type=float, default=None,
                   help="positional error of every image [arcsec] (overrides sigposArcsec; needed for result files)")
    p.add_argument("--values", type=Path, default=None,
                   help="a Lenstool result (best.par or bestopt.par) whose values replace the .par's (its priors kept)")
    p.add_argument("--out", type=Path, required=True, help="model folder to write")
    p.add_argument("--overwrite", action="store_true", help="replace files of an existing folder")
    p.set_defaults(func=_import_lenstool)

    p = sub.add_parser("export-lenstool", help="write a model folder as a Lenstool .par (+ potfile catalogues)")
    p.add_argument("folder", type=Path, metavar="FOLDER", help="the model folder to export")
    p.add_argument("--out", type=Path, required=True, help="the .par file to write")
    p.add_argument("--overwrite", action="store_true", help="replace existing files with different content")
    p.set_defaults(func=_export_lenstool)

    p = sub.add_parser("schemas", help="regenerate the JSON Schemas of every row type")
    p.add_argument("--out", type=Path, default=Path("schemas"), help="folder to write them to (default schemas)")
    p.set_defaults(func=_schemas)

    _add_product_commands(sub)
    for p in sub.choices.values():  # --traceback after the command too; SUPPRESS keeps one given before it
        p.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS, help=TRACEBACK_HELP)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit status. Warnings
    print as one ``warning:`` line meanwhile (the caller's ``warnings.showwarning`` is restored)."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return args.func(args)
        except (OSError, ValueError, RuntimeError, KeyboardInterrupt) as err:
            if args.traceback:
                raise
            return _report(err)


def _report(err: BaseException) -> int:
    """One message for an error of the commands (files, bad values, a sampler that cannot start)."""
    if isinstance(err, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    if isinstance(err, ModelError):
        print(err.report(), file=sys.stderr)
        return 1
    print(f"error: {err}", file=sys.stderr)
    if isinstance(err, LikelihoodError):
        print("this is a bug: run the command again with --traceback and report the output", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
