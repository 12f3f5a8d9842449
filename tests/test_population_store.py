"""simulate-many stores: realisation i byte-identical alone, with 1 or 4 workers and on a Dask LocalCluster;
kill -9 then resume equals an uninterrupted run; --folders realisations are ordinary dataset folders."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from clusterlens.fit import fit
from clusterlens.model import load_model
from clusterlens.population import (
    load_population,
    open_training_set,
    realisation_files,
    sample,
    simulate_many,
    simulate_realisation,
)
from population_models import make_tiny_population

pytest.importorskip("zarr")
pytest.importorskip("pyarrow")
pytestmark = pytest.mark.extras

ROOT = Path(__file__).resolve().parents[1]
N = 4


def store_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_population(tmp_path_factory.mktemp("tiny") / "model", n=N)


@pytest.fixture(scope="module")
def serial(tiny, tmp_path_factory):
    return simulate_many(tiny, tmp_path_factory.mktemp("serial") / "store", workers=1)


def test_four_workers_write_the_same_store_as_one(tiny, serial, tmp_path):
    four = simulate_many(tiny, tmp_path / "four", workers=4)
    assert store_files(four) == store_files(serial)
    assert not (serial / "parts").exists()


def test_a_realisation_made_alone_equals_its_place_in_the_store(tiny, serial):
    alone = simulate_realisation(load_population(tiny), 2)
    data = open_training_set(serial)
    image, labels = data[2]
    assert np.array_equal(image, alone.arrays["images"]) and image.dtype == np.float32
    assert np.array_equal(data.array("kappa")[2], alone.arrays["kappa"])
    assert labels == alone.labels and isinstance(labels["seed"], int)
    assert data.points[data.points["realisation"] == 2].reset_index(drop=True).equals(alone.points)
    pairs = list(data)
    assert len(pairs) == N and all(p[0].shape == (32, 32) for p in pairs)


def test_a_dask_local_cluster_writes_the_same_store(tiny, serial, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        out = simulate_many(tiny, tmp_path / "dask", scheduler=client)
    assert store_files(out) == store_files(serial)


def test_killed_run_resumes_to_the_uninterrupted_store(tiny, serial, tmp_path):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "clusterlens.cli", "simulate-many", str(tiny), "--out", str(out),
               "--workers", "1", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marker = out / "arrays.zarr" / "done" / "c" / "0"
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert marker.exists() and not (out / "labels.parquet").exists(), "the run was not interrupted mid-way"
    simulate_many(tiny, out, workers=1)
    assert store_files(out) == store_files(serial)


def test_running_a_finished_store_again_changes_nothing(tiny, serial):
    before = store_files(serial)
    simulate_many(tiny, serial, workers=1)
    assert store_files(serial) == before


def test_another_run_in_the_same_folder_is_refused(tiny, serial):
    with pytest.raises(FileExistsError, match="another run"):
        simulate_many(tiny, serial, seed=8, workers=1)


def test_folders_are_dataset_folders_holding_the_stores_realisations(tiny, serial, tmp_path):
    out = simulate_many(tiny, tmp_path / "folders", n=1, workers=1, folders=True)
    folder = out / "realisation_000000"
    model = load_model(folder)  # what `clusterlens validate` checks
    assert len(model.point_datasets) > 0 and model.main_lens_light
    data = fits.getdata(folder / "data.fits")
    assert np.array_equal(data.astype(np.float32), open_training_set(serial).array("images")[0])
    assert simulate_many(tiny, out, n=1, workers=1, folders=True) == out  # complete: nothing made again
    assert realisation_files(load_population(tiny), 0)["data.fits"] == (folder / "data.fits").read_bytes()


def test_a_folder_realisation_fits_back_its_drawn_halo_mass(tiny, tmp_path):
    model = tmp_path / "model"
    make_tiny_population(model, n=1)
    (model / "priors.csv").write_text("family,galaxy,parameter,prior,lower,upper\n"
                                      "host_halo,halo,m200,loguniform,4e14,2e15\n")
    out = simulate_many(model, tmp_path / "folders", workers=1, folders=True)
    result = fit(out / "realisation_000000", out=tmp_path / "fit", nlive=15, cores=1, plots=False, progress=False)
    drawn = sample(model, n=1)["host_halo.halo.m200"].iat[0]
    assert result is not None
    median = result.summary.set_index("label").loc["host_halo.halo.m200", "median"]
    assert abs(np.log(median / drawn)) < 0.02
