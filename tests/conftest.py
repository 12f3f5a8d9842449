import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "datasets" / "example_cluster"


@pytest.fixture
def example_copy(tmp_path) -> Path:
    """A writable copy of the bundled example model folder."""
    folder = tmp_path / "model"
    shutil.copytree(EXAMPLE, folder)
    return folder


@pytest.fixture(autouse=True, scope="session")
def checkpoint_key(tmp_path_factory):
    """Every test signs its checkpoints with a key of its own session, never the user's key."""
    import os

    from clusterlens.fit.checkpoint_signing import KEY_ENV

    path = tmp_path_factory.mktemp("key") / "checkpoint.key"
    previous = os.environ.get(KEY_ENV)
    os.environ[KEY_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(KEY_ENV, None)
    else:
        os.environ[KEY_ENV] = previous


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """The simulated dataset of tests/fit_cluster.py's small cluster (seed 3), made once per session;
    tests must not change it."""
    import clusterlens
    from fit_cluster import write_model

    model = write_model(tmp_path_factory.mktemp("tiny_model") / "tiny")
    return clusterlens.simulate(model, tmp_path_factory.mktemp("tiny_data") / "dataset", seed=3)


@pytest.fixture(scope="session")
def products_inputs(tmp_path_factory) -> tuple[Path, Path]:
    """(dataset, results folder) of the products tests: the tiny simulated cluster of tests/fit_cluster.py
    and a fake fit of it (tests/products_data.py), made once per session."""
    from products_data import fake_results, simulated_dataset

    root = tmp_path_factory.mktemp("products")
    dataset = simulated_dataset(root)
    return dataset, fake_results(dataset, root / "fit")


#: The quickest fit of ``tiny_dataset`` (dynesty, 20 live points, stopping at dlogz 50); the CLI flags of
#: the same fit, for tests that resume or re-fit it.
TINY_FIT = dict(nlive=20, seed=1, cores=1, progress=False, plots=False, dlogz=50.0)
TINY_FIT_CLI = ["--nlive", "20", "--seed", "1", "--cores", "1", "--quiet", "--no-plots", "--dlogz", "50"]


@pytest.fixture(scope="session")
def tiny_fit(tiny_dataset, tmp_path_factory) -> Path:
    """The results folder of the ``TINY_FIT`` of ``tiny_dataset``, made once per session; tests must not
    change it (copy it with :func:`copy_results`)."""
    from clusterlens.fit import fit

    out = tmp_path_factory.mktemp("tiny_fit") / "fit"
    fit(tiny_dataset, out=out, **TINY_FIT)
    return out


def copy_results(results: Path, folder: Path) -> Path:
    """A copy of the results folder ``results`` at ``folder``."""
    shutil.copytree(results, folder)
    return folder
