"""``simulate_many``: many realisations of a population into a training-set store or dataset folders.

Store (default): :mod:`.store`. Folders (``folders=True``): ``<out>/realisation_<i>/``, each an
ordinary dataset folder (:func:`clusterlens.simulation.simulate`'s files) written atomically, so one
that exists is complete; running again makes only the missing ones.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from .. import atomic
from ..dataset import FILENAME as DATASET_FILENAME
from ..dataset import PopulationSettings
from ..families import FAMILIES
from ..simulation.dataset_folder import MANIFEST as DATASET_MANIFEST
from .dask_workers import run_dask
from .distributions import FILENAME as POPULATION_FILENAME
from .realise import Population, load_population
from .store import Store, run_description
from .workers import default_workers, make_one, run_local, run_serial

#: The arrays each output keeps in the store.
ARRAY_OUTPUTS = ("images", "noise_maps", "kappa", "magnification")


def population_files(folder: Path) -> dict[str, bytes]:
    """The bytes of a population's inputs: dataset.toml, every family CSV present and population.csv."""
    names = [DATASET_FILENAME, POPULATION_FILENAME, *sorted(f.filename for f in FAMILIES.values())]
    return {n: (folder / n).read_bytes() for n in names if (folder / n).is_file()}


def folder_name(index: int) -> str:
    return f"realisation_{index:06d}"


def _overrides(population: Population, n: int | None, seed: int | None) -> tuple[dict, PopulationSettings]:
    """({setting: value} given instead of [population]'s, the settings they make), checked."""
    overrides = {k: int(v) for k, v in (("n", n), ("seed", seed)) if v is not None}
    return overrides, PopulationSettings.model_validate({**population.settings.model_dump(), **overrides})


def simulate_many(model_folder, out, *, n: int | None = None, seed: int | None = None, workers: int | None = None,
                  scheduler=None, folders: bool = False, progress: Callable[[int, int], None] | None = None) -> Path:
    """Make realisations 0 ... n-1 of the population in ``model_folder`` into ``out``; return ``out``.

    n, seed: override [population] n and seed; workers: local processes (default every core; 1 runs
    here); scheduler: a Dask scheduler address or Client (then ``workers`` is ignored); folders: write
    dataset folders instead of the store; progress(done, total) is called after each realisation.
    Resumes an interrupted run of the same inputs, seed, n and outputs; ModelError for a bad population,
    FileExistsError for a folder holding something else.
    """
    model_folder, out = Path(model_folder), Path(out)
    files = population_files(model_folder)
    population = load_population(model_folder)
    overrides, settings = _overrides(population, n, seed)
    total = settings.n
    task = functools.partial(make_one, files, overrides, folders)
    if folders:
        out.mkdir(parents=True, exist_ok=True)
        todo = [i for i in range(total) if not (out / folder_name(i) / DATASET_MANIFEST).is_file()]
    else:
        arrays = tuple(a for a in ARRAY_OUTPUTS if a in settings.outputs)
        description = run_description(Population(population.model, settings), total, files, arrays)
        store = Store.open(out, description, population.model.dataset.imaging.shape)
        todo = store.pending()
    count = total - len(todo)
    for index, result in _results(task, todo, workers, scheduler):
        if folders:
            with atomic.replaced_folder(out / folder_name(index)) as tmp:
                atomic.write_files(tmp, result)
        else:
            store.commit(result)
        count += 1
        if progress is not None:
            progress(count, total)
    if not folders:
        store.finish()
    return out


def _results(task, todo: list[int], workers: int | None, scheduler):
    if scheduler is not None:
        return run_dask(task, todo, scheduler)
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1 or len(todo) <= 1:
        return run_serial(task, todo)
    return run_local(task, todo, min(workers, len(todo)))

