"""End-to-end fits of a small simulated cluster (tests/fit_cluster.py): truth recovery, the best-fit
model's closure (it re-simulates the observed images), results files, resume after SIGKILL, pools,
the image-plane likelihood and the CLI."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import clusterlens
from clusterlens.cli import main
from clusterlens.fit import fit, read_results
from clusterlens.fit.sampler import QUEUE_SIZE
from clusterlens.fit_plots import corner_plot
from fit_cluster import TRUTH, write_model

SEED = 11
NLIVE = 50
SAMPLER = dict(nlive=NLIVE, seed=SEED, cores=1, progress=False)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> Path:
    return write_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def dataset(model_folder, tmp_path_factory) -> Path:
    return clusterlens.simulate(model_folder, tmp_path_factory.mktemp("data") / "dataset", seed=3)


@pytest.fixture(scope="module")
def source_fit(dataset, tmp_path_factory):
    return fit(dataset, out=tmp_path_factory.mktemp("runs") / "source", likelihood="source", **SAMPLER)


def _prior_width(label: str) -> float:
    return {"host_halo.halo.m200": 3e15 - 3e14, "main_lens_mass.BCG.sigma": 350.0,
            "scaling_relations.members.sigma_ref": 240.0}[label]


def test_source_plane_fit_recovers_the_truth(source_fit):
    summary = source_fit.summary.set_index("label")
    assert list(summary.index) == list(TRUTH)
    for label, truth in TRUTH.items():
        assert summary.loc[label, "truth"] == truth  # the dataset's CSV value (it has a manifest.json)
        lo, hi = np.quantile(source_fit.samples[label], [0.00135, 0.99865])  # 99.7% interval
        assert lo <= truth <= hi, label
        assert hi - lo < 0.2 * _prior_width(label), f"{label}: the data barely constrain it"
    assert source_fit.info["max_likelihood"]["chi2"]["n_images"] == 9


def test_max_likelihood_model_loads_and_reproduces_the_observed_images(source_fit, dataset, tmp_path):
    folder = source_fit.folder / "max_likelihood"
    names = {p.name for p in folder.iterdir()}
    assert "point_datasets.csv" not in names
    assert {"dataset.toml", "priors.csv", "host_halo.csv", "main_lens_mass.csv", "scaling_relations.csv",
            "scaling_galaxies.csv", "source_point.csv"} <= names
    model = clusterlens.load_model(folder)
    best = dict(zip(source_fit.labels, source_fit.max_likelihood_values, strict=True))
    assert model.host_halo[0].m200 == best["host_halo.halo.m200"]
    assert model.main_galaxies[0].sigma == best["main_lens_mass.BCG.sigma"]
    # re-simulating the best-fit model puts every image within 4 sigma of the observed one
    resimulated = pd.read_csv(clusterlens.simulate(folder, tmp_path / "resimulated", seed=0) / "true_images.csv")
    observed = pd.read_csv(dataset / "point_datasets.csv")
    assert resimulated.groupby("name").size().to_dict() == observed.groupby("name").size().to_dict()
    for row in observed.itertuples():
        same = resimulated[resimulated["name"] == row.name]
        distance = np.hypot(same["x"] - row.x, same["y"] - row.y).min()
        assert distance < 4 * row.sigma, (row.name, row.image, distance)


def test_results_folder_holds_every_file(source_fit):
    folder = source_fit.folder
    samples = pd.read_csv(folder / "samples.csv")
    assert list(samples.columns) == [*TRUTH, "log_likelihood"]
    assert len(samples) > NLIVE
    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary.columns) == ["label", "family", "galaxy", "parameter", "unit", "median", "p16", "p84",
                                     "p2.5", "p97.5", "max_likelihood", "truth"]
    assert (summary["p2.5"] <= summary["p16"]).all() and (summary["p16"] <= summary["median"]).all()
    assert (summary["median"] <= summary["p84"]).all() and (summary["p84"] <= summary["p97.5"]).all()
    info = json.loads((folder / "summary.json").read_text())
    for key in ("log_evidence", "log_evidence_error", "niter", "likelihood_calls", "run_time_s", "seed", "sampler"):
        assert key in info
    assert info["seed"] == SEED and info["sampler"]["nlive"] == NLIVE
    assert info["max_likelihood"]["log_likelihood"] == samples["log_likelihood"].max()
    assert np.isclose(-2 * info["max_likelihood"]["log_likelihood"], info["max_likelihood"]["chi2"]["chi2"])
    for png in ("corner.png", "images.png"):
        assert (folder / png).read_bytes().startswith(PNG)
    back = read_results(folder)
    pd.testing.assert_frame_equal(back.samples, source_fit.samples)
    pd.testing.assert_frame_equal(back.summary, source_fit.summary)
    row = source_fit.summary.set_index("label").loc["main_lens_mass.BCG.sigma"]
    # median/ holds the median rounded to the decimal place of 1e-3 of the posterior half-width
    assert clusterlens.load_model(folder / "median").main_galaxies[0].sigma == pytest.approx(
        row["median"], abs=0.5e-3 * (row["p84"] - row["p16"]) / 2)


def test_corner_plot_is_byte_reproducible(source_fit, tmp_path):
    again = corner_plot(source_fit.samples, source_fit.summary, tmp_path / "corner.png")
    assert again.read_bytes() == (source_fit.folder / "corner.png").read_bytes()


def test_existing_results_are_not_overwritten(dataset, source_fit):
    with pytest.raises(FileExistsError, match="--resume"):
        fit(dataset, out=source_fit.folder, **SAMPLER)
    with pytest.raises(FileExistsError, match="nlive 50 -> 60"):
        fit(dataset, out=source_fit.folder, **{**SAMPLER, "nlive": 60})


def test_resuming_a_finished_run_rewrites_the_same_results(dataset, source_fit):
    again = fit(dataset, out=source_fit.folder, resume=True, plots=False, **SAMPLER)
    assert again.info["niter"] == source_fit.info["niter"]
    pd.testing.assert_frame_equal(again.samples, source_fit.samples)


def test_run_killed_after_a_checkpoint_resumes_to_the_uninterrupted_result(dataset, source_fit, tmp_path):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "clusterlens.cli", "fit", str(dataset), "--out", str(out), "--nlive",
               str(NLIVE), "--seed", str(SEED), "--cores", "1", "--checkpoint-every", "0.1", "--quiet", "--no-plots"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.save").exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "summary.json").exists(), "the run finished before it was killed"
    resumed = fit(dataset, out=out, resume=True, plots=False, **SAMPLER)
    assert resumed.info["resumed"]
    assert resumed.info["niter"] == source_fit.info["niter"]
    pd.testing.assert_frame_equal(resumed.samples, source_fit.samples)


def _interrupted_fit(dataset: Path, out: Path, checkpoint_every: str, wait_for_checkpoint: bool, cores: str):
    """``clusterlens fit`` on ``cores`` processes, Ctrl-C'd as a terminal does (SIGINT to the whole
    process group) once it has a checkpoint, or as soon as it starts fitting; (exit status, stderr)."""
    command = [sys.executable, "-m", "clusterlens.cli", "fit", str(dataset), "--out", str(out), "--nlive",
               str(NLIVE), "--seed", str(SEED), "--cores", cores, "--checkpoint-every", checkpoint_every, "--no-plots"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                               env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert process.stdout is not None
    assert process.stdout.readline().startswith(b"fitting ")
    deadline = time.monotonic() + 120
    while wait_for_checkpoint and not (out / "checkpoint.save").exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    return process.returncode, err.decode()


def test_ctrl_c_prints_one_line_and_leaves_a_resumable_checkpoint(dataset, tmp_path):
    from clusterlens.fit.lockstep import ProposalPool
    from clusterlens.fit.sampler import SamplerSettings, restore_sampler

    out = tmp_path / "interrupted"
    status, err = _interrupted_fit(dataset, out, "0.5", wait_for_checkpoint=True, cores="2")
    assert status == 130, err
    assert err.splitlines() == [f"interrupted: run the same command with --resume to continue from its "
                                f"checkpoint {out / 'checkpoint.save'}"], err  # no worker traceback
    assert not (out / "summary.json").exists()
    assert restore_sampler(out / "checkpoint.save", SamplerSettings(nlive=NLIVE, seed=SEED), ProposalPool()).it > 1


def test_ctrl_c_before_the_first_checkpoint_promises_no_resume(dataset, tmp_path):
    status, err = _interrupted_fit(dataset, tmp_path / "early", "1000", wait_for_checkpoint=False, cores="1")
    assert status == 130, err
    assert len(err.splitlines()) == 1 and "nothing to resume" in err and "--resume" not in err, err


def test_image_plane_fit_within_the_source_plane_posterior_agrees_with_it(dataset, source_fit, tmp_path):
    """An image-plane fit ``within`` the source-plane posterior (each prior its median -+ 6 sd): the box's
    priors and log prior mass are recorded, and its maximum-likelihood parameters and medians agree with the
    source-plane ones within errors. A fit of other free parameters cannot be the box."""
    from clusterlens.fit.parameters import Parameters
    from clusterlens.fit.priors import narrowed_priors, with_priors
    from clusterlens.fit.within import within_posterior

    summary = source_fit.summary.set_index("label")
    image = fit(dataset, within=source_fit.folder, within_width=6.0, out=tmp_path / "image", likelihood="image",
                nlive=25, seed=1, cores=1, progress=False, plots=False)
    model = clusterlens.load_model(dataset)
    params = Parameters.from_model(model)
    samples = source_fit.samples[params.labels].to_numpy()
    rows, log_mass = narrowed_priors(params, samples, np.ones(len(samples)))
    assert image.info["within"] == dict(results=str(source_fit.folder.resolve()), width=6.0, log_prior_mass=log_mass)
    assert log_mass < -5  # the box holds a small part of the prior
    written = pd.read_csv(image.folder / "median" / "priors.csv")
    np.testing.assert_allclose(written[["lower", "upper"]].to_numpy(), [[r["lower"], r["upper"]] for r in rows],
                               rtol=1e-12)
    other = image.summary.set_index("label")
    for label in TRUTH:
        error = np.hypot(*(0.5 * (s.loc[label, "p84"] - s.loc[label, "p16"]) for s in (summary, other)))
        assert abs(other.loc[label, "median"] - summary.loc[label, "median"]) < 3 * error, label
        assert abs(other.loc[label, "max_likelihood"] - summary.loc[label, "max_likelihood"]) < 3 * error, label
        lo, hi = np.quantile(image.samples[label], [0.00135, 0.99865])
        assert lo <= TRUTH[label] <= hi, label
    more = with_priors(model, [dict(family="main_lens_mass", galaxy="BCG", parameter="r_cut", prior="uniform",
                                    lower=10.0, upper=90.0)])
    with pytest.raises(ValueError, match="no samples of main_lens_mass.BCG.r_cut"):
        within_posterior(more, source_fit.folder)


@pytest.mark.slow
def test_cli_run_with_two_processes_matches_the_in_process_chain(model_folder, dataset, tmp_path, monkeypatch):
    """`clusterlens run` simulates the same dataset (same seed: same bytes) and fits it with a pool of 2
    processes; the chain equals a one-process fit's (the default queue of 16 proposals whatever the cores)."""
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(model_folder), "--cores", "2", "--nlive", "30", "--seed", "3", "--quiet"]) == 0
    results = tmp_path / "results" / model_folder.name
    assert (results / "dataset" / "data.fits").read_bytes() == (dataset / "data.fits").read_bytes()
    pooled = read_results(results / "fit_source")
    assert pooled.info["cores"] == 2 and pooled.info["sampler"]["queue_size"] == QUEUE_SIZE
    serial = fit(dataset, out=tmp_path / "serial", nlive=30, seed=3, cores=1, progress=False, plots=False)
    pd.testing.assert_frame_equal(pooled.samples, serial.samples)
    assert pooled.info["niter"] == serial.info["niter"]

    # re-running the main job reuses the finished fit; after a CSV edit it re-simulates and re-fits
    argv = ["run", str(model_folder), "--cores", "2", "--nlive", "30", "--seed", "3", "--quiet", "--no-plots"]
    assert main(argv) == 0
    pd.testing.assert_frame_equal(read_results(results / "fit_source").samples, pooled.samples)
    edited = tmp_path / "edited"
    shutil.copytree(model_folder, edited)
    rows = (edited / "main_lens_mass.csv").read_text().splitlines()
    rows[1] = rows[1].replace(",0.75,", ",0.72,", 1)  # the BCG axis ratio
    assert ",0.72," in rows[1]
    (edited / "main_lens_mass.csv").write_text("\n".join(rows) + "\n")
    results_edited = tmp_path / "results" / "edited"
    shutil.copytree(results, results_edited)  # the results of the unedited model, as after an edit in place
    assert main(["run", str(edited), *argv[2:]]) == 0
    copied = (results_edited / "dataset" / "main_lens_mass.csv").read_bytes()
    assert copied == (edited / "main_lens_mass.csv").read_bytes()
    refit = read_results(results_edited / "fit_source")
    assert not refit.samples.equals(pooled.samples)


@pytest.mark.skipif(shutil.which("mpiexec") is None or importlib.util.find_spec("mpi4py") is None,
                    reason="needs an MPI launcher (mpiexec) and mpi4py")
def test_mpi_ranks_give_the_same_chain_as_the_in_process_queue(dataset, tmp_path):
    """Under mpiexec -n 3, rank 0 samples and 2 ranks evaluate the queue's two halves: the chain of one process."""
    out = tmp_path / "mpi"
    command = ["mpiexec", "-n", "3", sys.executable, "-m", "clusterlens.cli", "fit", str(dataset), "--out", str(out),
               "--nlive", "30", "--seed", "3", "--quiet", "--no-plots"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    ranks = read_results(out)
    assert ranks.info["mpi"] and ranks.info["sampler"]["queue_size"] == QUEUE_SIZE
    serial = fit(dataset, out=tmp_path / "serial", nlive=30, seed=3, cores=1, progress=False, plots=False)
    pd.testing.assert_frame_equal(ranks.samples, serial.samples)


def test_results_hold_the_max_likelihood_chires_table(source_fit, capsys):
    """chires.csv: the max-likelihood model image by image; `clusterlens chi2` of max_likelihood/ gives it again."""
    from clusterlens.fit.chi2_report import IMAGE_COLUMNS

    table = pd.read_csv(source_fit.folder / "chires.csv")
    assert list(table.columns) == IMAGE_COLUMNS and len(table) == 9 and table["matched"].all()
    assert table["chi2"].sum() == pytest.approx(source_fit.info["max_likelihood"]["chi2"]["chi2_pos"], rel=1e-12)
    capsys.readouterr()
    assert main(["chi2", str(source_fit.folder / "max_likelihood"), "--likelihood", "source", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["chi2"] == pytest.approx(source_fit.info["max_likelihood"]["chi2"]["chi2"], rel=1e-9)
    assert [r["chi2"] for r in report["images"]] == pytest.approx(table["chi2"].tolist(), rel=1e-9)
