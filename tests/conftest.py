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


@pytest.fixture(scope="session")
def products_inputs(tmp_path_factory) -> tuple[Path, Path]:
    """(dataset, results folder) of the products tests: the tiny simulated cluster of tests/fit_cluster.py
    and a fake fit of it (tests/products_data.py), made once per session."""
    from products_data import fake_results, simulated_dataset

    root = tmp_path_factory.mktemp("products")
    dataset = simulated_dataset(root)
    return dataset, fake_results(dataset, root / "fit")
