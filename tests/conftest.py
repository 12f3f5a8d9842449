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
