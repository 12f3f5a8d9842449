"""Fit orchestration: a dataset folder -> its likelihood -> nested sampling -> a results folder.

``fit(dataset_folder, ...)`` fits the free parameters (``priors.csv``) of a dataset folder (model
CSVs + ``point_datasets.csv``) and writes ``results/<dataset name>_<likelihood>/`` (or ``out``):
``samples.csv``, ``summary.csv``, ``summary.json``, ``chires.csv``, ``max_likelihood/``, ``median/``
(:mod:`clusterlens.fit.results`), ``corner.png`` and ``images.png`` (:mod:`clusterlens.fit_plots`),
plus ``run.json`` (what was asked: dataset digest, likelihood, sampler settings) and the
sampler's checkpoint: ``checkpoint.save`` (dynesty, saved every ``checkpoint_every`` seconds) or
``checkpoint.hdf5`` (nautilus, written after every batch of likelihood calls).

The sampler is dynesty's nested sampling (:mod:`clusterlens.fit.sampler`, the default) or nautilus'
importance nested sampling (``sampler="nautilus"``, :mod:`clusterlens.fit.nautilus_sampler`); both
write the same results files.

``run(model_folder, ...)`` is the whole loop on a model folder: simulate its dataset into
``results/<name>/dataset/`` (reused while the model and seed are unchanged, see
``clusterlens.ensure_dataset``), then fit it into ``results/<name>/fit_<likelihood>/``. A model folder
that already holds ``point_datasets.csv`` is observed data: it is fitted as it is.

The likelihood is the one asked for, else the dataset's ``dataset.toml`` ``[fit] likelihood`` (an
imported Lenstool model records ``lenstool`` and its ``forme`` there), else ``source``.

An existing results folder is only reused by ``resume=True`` when its ``run.json`` matches
(same dataset content, priors, likelihood and sampler settings): an interrupted run continues from
its checkpoint, a finished one just rewrites its results. Anything else is refused unless
``overwrite=True``, which deletes the files a fit writes (and nothing else) before starting again;
``resume=True, overwrite=True`` reuses the folder when it can and starts again when it cannot.
While a fit runs it holds a lock on ``<out>/.lock``: a second fit into the same folder is refused.

Parallel fits spawn worker processes that import the main script: a script calling ``fit`` with
more than one core needs the usual ``if __name__ == "__main__":`` guard.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO

import numpy as np
from rich.console import Console

from .. import atomic, outputs
from .._version import __version__
from ..dataset import FILENAME as DATASET_TOML
from ..dataset import read_dataset
from ..digest import digest_files
from ..fit_plots import best_fit_critical_curves, corner_plot, images_plot, images_view
from ..maps import PixelGrid
from ..model import ClusterModel, load_model, model_files
from ..sampling_methods import LIKELIHOODS, SAMPLERS
from ..simulation.dataset_folder import MANIFEST, ensure_dataset
from . import results as results_io
from .lockstep import useful_processes
from .nautilus_sampler import NautilusSettings, sample_nautilus
from .point_likelihood import likelihood_choice, make_likelihood
from .priors import read_priors, replace_priors, with_priors
from .sampler import (
    QUEUE_SIZE,
    SamplerSettings,
    available_cores,
    default_nlive,
    mpi_rank,
    mpi_world_size,
    on_root,
    sample,
)
from .within import WITHIN_WIDTH, within_posterior

RUN_RECORD = "run.json"
LOCK = ".lock"
CHECKPOINT = "checkpoint.save"
NAUTILUS_CHECKPOINT = "checkpoint.hdf5"
CORNER, IMAGES = "corner.png", "images.png"


def _previous_run_time(out: Path) -> float:
    """Sampling time [s] recorded by earlier sessions of a resumed run (0 when none finished)."""
    try:
        return float(json.loads((out / results_io.SUMMARY_JSON).read_text())["run_time_s"])
    except (OSError, ValueError, KeyError):
        return 0.0


def load_dataset(dataset_folder: str | os.PathLike, priors=None) -> ClusterModel:
    """The dataset folder's model; ``priors`` (a priors CSV path, or a list of priors.csv dicts)
    replaces its priors.csv."""
    model = load_model(dataset_folder)
    if priors is None:
        return model
    if isinstance(priors, (str, os.PathLike)):
        return replace_priors(model, read_priors(priors))
    return with_priors(model, priors, replace=True)


def default_out(dataset_folder: str | os.PathLike, likelihood: str) -> Path:
    """Where ``fit`` writes by default, named after the folder the user gave (not dataset.toml's name,
    which a copied example keeps): ``<parent>/fit_<likelihood>`` next to a folder named ``dataset``
    (the layout ``run`` writes, results/<name>/dataset), else ``results/<folder name>_<likelihood>``."""
    folder = Path(dataset_folder).resolve()
    if folder.name == "dataset":
        return Path(dataset_folder).parent / f"fit_{likelihood}"
    return Path("results") / outputs.safe_component(f"{folder.name}_{likelihood}")


def run_record(model: ClusterModel, likelihood: str, likelihood_options: dict,
               settings: SamplerSettings | NautilusSettings, labels: list[str]) -> dict:
    """What a results folder holds a fit of: the sha256 of the dataset's model files (priors
    included), the likelihood and the sampler settings. Equal records = the same chain."""
    return {"dataset_sha256": digest_files(model_files(model)), "likelihood": likelihood,
            "likelihood_options": likelihood_options, "sampler": settings.as_dict(), "labels": labels}


def _differences(old: dict, new: dict) -> str:
    changes = []
    if old.get("dataset_sha256") != new["dataset_sha256"]:
        changes.append("the dataset or its priors changed")
    for key in ("likelihood", "likelihood_options", "labels"):
        if old.get(key) != new[key]:
            changes.append(f"{key} {old.get(key)!r} -> {new[key]!r}")
    old_sampler = old.get("sampler") or {}
    changes += [f"{k} {old_sampler.get(k)!r} -> {v!r}" for k, v in new["sampler"].items() if old_sampler.get(k) != v]
    return "; ".join(changes) or "unreadable run.json"


class FolderLock:
    """An exclusive ``flock`` on ``<out>/.lock`` while a fit writes in ``out``: a second fit into the same
    folder is refused. The operating system releases it when the process ends, even when killed."""

    def __init__(self, out: Path):
        self.out = out
        self.handle: IO[str] | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return
        if os.path.lexists(self.out):
            outputs.check_real_folder(self.out)
        self.out.mkdir(parents=True, exist_ok=True)
        try:  # never through a link: a planted .lock link would create a file elsewhere
            fd = os.open(self.out / LOCK, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o666)
        except OSError as err:
            raise FileExistsError(f"{self.out / LOCK} cannot be opened ({err.strerror}): it must be a plain "
                                  "file (clusterlens's lock), not a link") from None
        self.handle = handle = os.fdopen(fd, "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.release()
            raise FileExistsError(f"{self.out} is in use by another running fit: wait for it to finish, "
                                  "or choose another --out") from None

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def staging_folder(out: Path) -> Path:
    """The hidden sibling a re-fit writes in until it is complete (``.<out name>.refit``)."""
    return out.parent / f".{out.name}.refit"


def _start(folder: Path, record: dict, checkpoint: str) -> None:
    """Record the fit ``record`` in ``folder``: run.json, and outputs.json naming it and the checkpoint."""
    add_to_record(folder, [RUN_RECORD, checkpoint, checkpoint + ".tmp"])  # first: the folder is known as ours
    atomic.write_bytes(folder / RUN_RECORD, results_io.json_bytes(record))


def add_to_record(folder: Path, files: Iterable[str]) -> None:
    """Add ``files`` to the outputs ``folder`` records (:mod:`clusterlens.outputs`)."""
    atomic.write_bytes(folder / outputs.RECORD, outputs.record_bytes([*(outputs.read_record(folder) or []), *files]))


def _entries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name != LOCK] if folder.exists() else []


def _previous_fit(folder: Path) -> dict | None:
    """The run.json of a clusterlens results folder (one that records its outputs), else None."""
    if outputs.read_record(folder) is None:
        return None
    try:
        record = json.loads((folder / RUN_RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _prepare_staging(out: Path, record: dict, reuse: bool, checkpoint: str) -> tuple[Path, bool]:
    """The staging folder of a re-fit of ``out``: a killed re-fit of the same record is resumed (``reuse``),
    any other earlier one removed (its recorded files only)."""
    work = staging_folder(out)
    outputs.check_real_folder(work) if os.path.lexists(work) else None
    if _entries(work):
        old = _previous_fit(work)
        if outputs.read_record(work) is None:
            raise FileExistsError(f"{work} exists and is not a clusterlens re-fit folder: delete it or choose "
                                  "another --out")
        if old == record and reuse and (work / checkpoint).exists():
            return work, True
        outputs.remove_recorded(work, outputs.read_record(work) or [])
    work.mkdir(exist_ok=True)
    _start(work, record, checkpoint)
    return work, False


def plan_fit(out: Path, record: dict, resume: bool, overwrite: bool, update: bool = False,
             checkpoint: str = CHECKPOINT) -> tuple[Path, bool]:
    """Where the fit described by ``record`` writes, and whether it resumes its ``checkpoint`` there.

    A new or empty ``out``: the fit writes in it. resume (or update): a run of the same record in ``out``
    continues from its checkpoint (or rewrites its results). overwrite (or update, for a different
    record): the new fit writes in :func:`staging_folder` and replaces the recorded files of ``out`` only
    when it is complete (:func:`publish_fit`), so the previous results stay intact until then. A folder
    clusterlens did not write (no readable run.json and outputs.json) is refused, with or without
    overwrite, and so is a folder that is a symbolic link."""
    if os.path.lexists(out):
        outputs.check_real_folder(out)
        if not out.is_dir():
            raise NotADirectoryError(f"{out} exists and is not a folder: expected a results folder path")
    if not _entries(out):
        out.mkdir(parents=True, exist_ok=True)
        _start(out, record, checkpoint)
        return out, False
    old = _previous_fit(out)
    if old is None:
        raise FileExistsError(f"{out} exists and is not a clusterlens results folder (no readable {RUN_RECORD} "
                              f"and {outputs.RECORD}): choose another --out (clusterlens writes only into new, "
                              "empty or its own folders)")
    if old == record and (resume or update):
        return out, (out / checkpoint).exists()
    if overwrite or update:
        return _prepare_staging(out, record, resume or update, checkpoint)
    if old != record:
        raise FileExistsError(f"{out} holds a different fit ({_differences(old, record)}): choose another "
                              "--out, or pass --overwrite to replace it")
    finished = (out / results_io.SUMMARY_JSON).exists()
    raise FileExistsError(f"{out} holds {'a finished' if finished else 'an interrupted'} run of this fit: "
                          f"pass --resume to {'rewrite its results' if finished else 'continue it'}, or "
                          "--overwrite to start again")


def publish_fit(work: Path, out: Path) -> None:
    """Swap the complete re-fit in ``work`` into ``out`` (replacing only ``out``'s recorded files), then
    remove ``work``."""
    outputs.publish(work, out, outputs.read_record(out) or [], skip=[LOCK])
    for folder in sorted((p for p in work.rglob("*") if p.is_dir() and not p.is_symlink()),
                         key=lambda p: len(p.parts), reverse=True):
        folder.rmdir()  # empty now: every file was moved
    work.rmdir()


def _versions(sampler: str) -> dict:
    import importlib

    return {"clusterlens": __version__, sampler: importlib.import_module(sampler).__version__,
            "numpy": np.__version__}


def sampler_settings(sampler: str, nlive: int | None, seed: int, queue_size: int, dynesty_options: dict,
                     nautilus_options: Mapping | None = None, ndim: int = 0) -> SamplerSettings | NautilusSettings:
    """The settings of ``sampler``: dynesty's (nlive default :func:`~clusterlens.fit.sampler.default_nlive` of
    the ``ndim`` free parameters: 100 up to 49) or nautilus' (nlive default 2000,
    ``queue_size`` = its batch size, default 100, and ``nautilus_options``: the other fields of
    :class:`NautilusSettings`); dynesty_options (bound, sample, dlogz, dynamic) that differ from their
    defaults are refused for nautilus, nautilus_options for dynesty."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    if sampler == "dynesty":
        if nautilus_options:
            raise ValueError("nautilus_options are given but the sampler is dynesty: pass sampler='nautilus'")
        return SamplerSettings(nlive=default_nlive(ndim) if nlive is None else nlive, seed=seed, queue_size=queue_size,
                               **dynesty_options)
    defaults = SamplerSettings()
    given = [k for k, v in dynesty_options.items() if v != getattr(defaults, k)]
    if given:
        raise ValueError(f"{', '.join(given)}: dynesty options, not used by the nautilus sampler")
    options = dict(nautilus_options or {})
    fixed = sorted({"nlive", "n_batch", "seed"} & set(options))
    if fixed:
        raise ValueError(f"nautilus_options {', '.join(fixed)}: give them as nlive, queue_size and seed")
    return NautilusSettings(nlive=NautilusSettings.nlive if nlive is None else nlive, n_batch=queue_size,
                            seed=seed, **options)


def fit(dataset_folder: str | os.PathLike, priors: str | os.PathLike | Iterable[Mapping] | None = None,
        out: str | os.PathLike | None = None, likelihood: str | None = None, nlive: int | None = None,
        cores: int | None = None, resume: bool = False, seed: int = 0, *, sampler: str = "dynesty",
        bound: str = "multi", sample_method: str = "auto", dlogz: float | None = None, dynamic: bool = False,
        queue_size: int | None = None, checkpoint_every: float = 60.0, nautilus_options: Mapping | None = None,
        overwrite: bool = False, update: bool = False, plots: bool = True, progress: bool = True,
        likelihood_options: dict | None = None, within: str | os.PathLike | None = None,
        within_width: float = WITHIN_WIDTH, console: Console | None = None) -> results_io.FitResult | None:
    """Fit a dataset folder's free parameters by nested sampling; write and return the results.

    dataset_folder: model CSVs + point_datasets.csv (+ data.fits, manifest.json for a simulation);
    priors: a priors CSV replacing the folder's priors.csv (or a list of priors.csv dicts);
    out: results folder (default ``results/<dataset name>_<likelihood>``); likelihood: "source"
    (source-plane chi2), "image" (image-plane chi2) or "lenstool" (Lenstool's statistic, its ``forme``
    from likelihood_options or dataset.toml ``[fit]``); None: dataset.toml's ``[fit] likelihood``, else
    "source" (:func:`likelihood_choice`); sampler: "dynesty" (nested sampling) or "nautilus"
    (importance nested sampling, ``pip install clusterlens[nautilus]``); nlive, bound, sample_method,
    dlogz, dynamic, seed, queue_size: :class:`~clusterlens.fit.sampler.SamplerSettings` (nlive default
    100, 2 ndim + 2 above 49 free parameters; queue_size default
    :data:`~clusterlens.fit.sampler.QUEUE_SIZE`, or the number of processes when there are more) or, for
    nautilus, nlive, seed and queue_size (its batch size,
    default 100) of :class:`~clusterlens.fit.nautilus_sampler.NautilusSettings` (nlive default 2000),
    whose other fields (n_networks, n_eff, f_live, discard_exploration) nautilus_options gives;
    cores: processes evaluating the likelihood (default: every core this process may use, or with dynesty
    one process where splitting its queue would not save time,
    :func:`~clusterlens.fit.lockstep.useful_processes`; under mpirun the MPI ranks instead); resume,
    overwrite, update: see :func:`plan_fit`; checkpoint_every: seconds between checkpoints; plots: write
    corner.png and images.png; likelihood_options: keyword options of ``make_likelihood``; within: a results
    folder of a fit of the same free parameters, whose posterior box (median -+ ``within_width`` sd) restricts
    the priors (:mod:`clusterlens.fit.within`: e.g. an image-plane fit inside a source-plane posterior).
    Returns None on MPI ranks other than 0.
    """
    console = console or Console()
    if likelihood is not None and likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {likelihood!r}")
    chosen = cores is not None
    cores = available_cores() if cores is None else cores
    if int(cores) != cores or cores < 1:
        raise ValueError(f"cores must be an integer >= 1, got {cores!r}")
    dataset_folder = Path(dataset_folder)
    model = load_dataset(dataset_folder, priors)
    box = None
    if within is not None:
        model, box = within_posterior(model, within, within_width)
    likelihood, options = likelihood_choice(model.dataset, likelihood, likelihood_options or {})
    # one lens thread per evaluation: the sampler's processes are the parallelism
    L = make_likelihood(model, kind=likelihood, **{"threads": 1, **options})
    if len(L.parameters) == 0:
        source = (dataset_folder / "priors.csv" if priors is None else priors
                  if isinstance(priors, (str, os.PathLike)) else "the priors given")
        raise ValueError(f"{source}: no prior rows (only a header, or no file), so no free parameters: add rows "
                         "to it (or pass --priors)")
    ranks = mpi_world_size()
    if queue_size is None:  # at least one proposal per process
        queue_size = max(QUEUE_SIZE, ranks - 1 if ranks > 1 else cores) if sampler == "dynesty" else \
            NautilusSettings.n_batch
    settings = sampler_settings(sampler, nlive, seed, queue_size,
                                dict(bound=bound, sample=sample_method, dlogz=dlogz, dynamic=dynamic), nautilus_options,
                                ndim=len(L.parameters))
    if not chosen and sampler == "dynesty" and ranks <= 1:  # the queue was sized above, so the chain is the same
        cores = useful_processes(L, cores, queue_size, seed)
    checkpoint = CHECKPOINT if sampler == "dynesty" else NAUTILUS_CHECKPOINT
    out = Path(out) if out is not None else default_out(dataset_folder, likelihood)
    record = run_record(model, likelihood, options, settings, L.parameters.labels)
    lock = FolderLock(out)
    try:
        def lock_and_prepare() -> tuple[Path, bool]:
            lock.acquire()
            return plan_fit(out, record, resume, overwrite, update, checkpoint)

        work, resuming = on_root(lock_and_prepare)
        simulated = (dataset_folder / MANIFEST).exists()
        if mpi_rank() == 0:
            name = f"Lenstool forme {options['forme']}" if likelihood == "lenstool" else f"{likelihood}-plane"
            console.print(f"fitting {len(L.parameters)} free parameters of {dataset_folder} ({name} "
                          f"likelihood, {len(L.images.x)} images) into {out}"
                          + (" (resuming its checkpoint)" if resuming else ""))
        start = time.monotonic()
        if isinstance(settings, NautilusSettings):
            sampled = sample_nautilus(L, settings, cores=cores, checkpoint=work / checkpoint, resume=resuming,
                                      progress=progress)
        else:
            sampled = sample(L, settings, cores=cores, checkpoint=work / checkpoint,
                             checkpoint_every=checkpoint_every, resume=resuming, progress=progress)
        if sampled is None:
            return None
        info = {"dataset": str(dataset_folder.resolve()),
                "priors": str(priors) if isinstance(priors, (str, os.PathLike)) else
                "priors.csv" if priors is None else "python", "within": box,
                "likelihood": likelihood, "likelihood_options": options, "sampler": settings.as_dict(),
                "cores": ranks - 1 if ranks > 1 else cores, "mpi": ranks > 1, "checkpoint_every_s": checkpoint_every,
                "run_time_s": time.monotonic() - start + (_previous_run_time(work) if resuming else 0.0),
                "resumed": resuming, "simulated_dataset": simulated,
                "versions": _versions(sampler)}
        truth = L.parameters.values(model) if simulated else None
        result = results_io.write_results(work, sampled, L, info, truth, seed)
        if plots:
            write_plots(result, L, dataset_folder, model)
            add_to_record(work, [CORNER, IMAGES])
        if work != out:
            publish_fit(work, out)
            result = replace(result, folder=out)
    finally:
        lock.release()
    console.print(result)
    return result


def write_plots(result: results_io.FitResult, likelihood, dataset_folder: Path, model: ClusterModel) -> None:
    """corner.png and images.png of a results folder (observed image from data.fits when present)."""
    corner_plot(result.samples, result.summary, result.folder / CORNER)
    predicted = likelihood.predicted_images(result.max_likelihood_values)
    image, extent, softening = None, None, 1.0
    data = dataset_folder / "data.fits"
    if data.exists():
        from astropy.io import fits

        image = np.asarray(fits.getdata(data), float)
        s = model.dataset.imaging
        if image.shape == tuple(s.shape):
            extent = PixelGrid(s.center_x, s.center_y, s.shape, s.pixel_scale).extent
            noise = dataset_folder / "noise_map.fits"
            softening = float(np.median(fits.getdata(noise))) if noise.exists() else float(np.std(image)) or 1.0
        else:
            image = None
    chi2 = result.info["max_likelihood"]["chi2"]
    kind = result.info["likelihood"]
    title = (f"max likelihood ({'Lenstool' if kind == 'lenstool' else kind + '-plane'}): chi2 = {chi2['chi2']:.1f}, "
             f"{chi2['n_images']} images, dof {chi2['dof']}")
    curves = best_fit_critical_curves(result.max_likelihood_model(), images_view(predicted, extent))
    images_plot(predicted, result.folder / IMAGES, image, extent, softening, title=title, curves=curves)


def run(model_folder: str | os.PathLike, dataset: str | os.PathLike | None = None, out: str | os.PathLike | None = None,
        seed: int = 0, overwrite_dataset: bool = False, console: Console | None = None, **fit_options):
    """Simulate (or reuse) the dataset of ``model_folder`` and fit it (module docstring); return the FitResult.

    dataset: the dataset folder (default ``results/<name>/dataset``); out: the results folder
    (default ``results/<name>/fit_<likelihood>``); seed: of the simulation and of the sampler;
    fit_options: the options of :func:`fit` (priors, likelihood, nlive, cores, resume, ...). Unless
    ``resume`` or ``overwrite`` is given, ``update=True``: re-running reuses a finished identical fit,
    resumes an interrupted one and re-fits a changed one in its own results folder (never a foreign one)."""
    console = console or Console()
    model_folder = Path(model_folder)
    name = model_folder.resolve().name
    if (model_folder / "point_datasets.csv").exists():
        dataset_folder = model_folder
        if mpi_rank() == 0:
            console.print(f"{model_folder} holds point_datasets.csv: fitting the observed images (no simulation)")
    else:
        dataset_folder = Path(dataset) if dataset is not None else Path("results") / name / "dataset"
        on_root(ensure_dataset, model_folder, dataset_folder, seed=seed, overwrite=overwrite_dataset, console=console)
    if fit_options.get("likelihood") is None:  # the dataset's [fit] default names the results folder too
        fit_options["likelihood"] = likelihood_choice(read_dataset(dataset_folder / DATASET_TOML), None, {})[0]
    out = Path(out) if out is not None else Path("results") / name / f"fit_{fit_options['likelihood']}"
    # the edit-and-re-run loop: keep our own results folder up to date unless told otherwise
    fit_options.setdefault("update", not (fit_options.get("resume") or fit_options.get("overwrite")))
    return fit(dataset_folder, out=out, seed=seed, console=console, **fit_options)
