"""The nautilus sampler: a Gaussian likelihood's closed-form posterior and evidence, batches equal to
single calls, seeds, checkpoint/resume, its settings, a fit's results files and the --sampler option."""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("nautilus")

import clusterlens  # noqa: E402 -- after the skip: every test here needs nautilus
from clusterlens.cli import main  # noqa: E402
from clusterlens.fit import fit, nautilus_sampler, read_results  # noqa: E402
from clusterlens.fit.nautilus_sampler import NautilusSettings, sample_nautilus  # noqa: E402
from clusterlens.fit.pipeline import sampler_settings  # noqa: E402
from clusterlens.fit.sampler import install  # noqa: E402
from fit_cluster import TRUTH, write_model  # noqa: E402
from test_fit_units import Gaussian, uniform_model  # noqa: E402

QUICK = NautilusSettings(nlive=100, n_networks=1, n_eff=500, seed=3)
QUICK_OPTIONS = dict(n_networks=1, n_eff=500)


class BatchGaussian(Gaussian):
    """The Gaussian likelihood with a ``batch`` entry point, counting the rows it evaluates."""

    def __init__(self, model):
        super().__init__(model)
        self.batch_rows = 0
        self.batch_sizes: set[int] = set()

    def batch(self, values):
        values = np.asarray(values, float)
        self.batch_rows += len(values)
        self.batch_sizes.add(len(values))
        return -0.5 * np.sum(((values - self.mean) / self.sigma) ** 2, axis=1)


@pytest.fixture(scope="module")
def gaussian_run():
    likelihood = Gaussian(uniform_model())
    return likelihood, sample_nautilus(likelihood, QUICK, progress=False)


def test_posterior_and_evidence_match_the_gaussian(gaussian_run):
    """Posterior mean and sigma of each parameter, and Z = prod_i sqrt(2 pi) sigma_i / W_i."""
    likelihood, results = gaussian_run
    weights = np.exp(results.logwt)
    assert weights.sum() == pytest.approx(1.0)
    mean = weights @ results.samples
    sigma = np.sqrt(weights @ (results.samples - mean) ** 2)
    assert np.all(np.abs(mean - likelihood.mean) < 0.1 * likelihood.sigma)
    np.testing.assert_allclose(sigma, likelihood.sigma, rtol=0.1)
    expected = float(np.sum(np.log(np.sqrt(2 * np.pi) * likelihood.sigma / likelihood.width)))
    assert results.logz[-1] == pytest.approx(expected, abs=max(0.1, 4 * results.logzerr[-1]))
    assert 0 < results.logzerr[-1] < 0.1
    # H = sum_i log(W_i / (sqrt(2 pi e) sigma_i)) for a Gaussian well inside uniform priors
    information = float(np.sum(np.log(likelihood.width / (np.sqrt(2 * np.pi * np.e) * likelihood.sigma))))
    assert results.information[-1] == pytest.approx(information, abs=0.15)
    assert results.ncall == likelihood.calls == results.niter * QUICK.n_batch


def test_batches_give_the_chain_of_single_calls(gaussian_run):
    """With ``batch`` the likelihood is called once per batch and the same seed gives the same chain."""
    _, reference = gaussian_run
    likelihood = BatchGaussian(uniform_model())
    results = sample_nautilus(likelihood, QUICK, progress=False)
    assert likelihood.calls == 0 and likelihood.batch_rows == results.ncall
    for name in ("samples", "logwt", "logl", "logz"):
        np.testing.assert_array_equal(getattr(results, name), getattr(reference, name), err_msg=name)


def test_another_seed_gives_another_chain(gaussian_run):
    _, reference = gaussian_run
    other = sample_nautilus(Gaussian(uniform_model()), NautilusSettings(**{**QUICK.__dict__, "seed": 4}),
                            progress=False)
    assert not np.array_equal(other.samples[:100], reference.samples[:100])


def test_interrupted_run_resumes_to_the_same_chain(gaussian_run, tmp_path):
    _, reference = gaussian_run
    checkpoint = tmp_path / "checkpoint.hdf5"
    with pytest.raises(KeyboardInterrupt):
        sample_nautilus(Gaussian(uniform_model(), fail_after=1250), QUICK, checkpoint=checkpoint, progress=False)
    assert checkpoint.exists()
    resumed = sample_nautilus(Gaussian(uniform_model()), QUICK, checkpoint=checkpoint, resume=True, progress=False)
    for name in ("samples", "logwt", "logl", "logz"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(reference, name), err_msg=name)
    finished = Gaussian(uniform_model())
    again = sample_nautilus(finished, QUICK, checkpoint=checkpoint, resume=True, progress=False)
    assert finished.calls == 0  # a finished run is read back, not continued
    np.testing.assert_array_equal(again.samples, reference.samples)


def test_the_chain_does_not_depend_on_the_number_of_workers(gaussian_run, monkeypatch):
    """With N workers nautilus cuts each batch into N chunks, one per worker, and its own work (networks, point
    draws) into SAMPLER_JOBS seeded jobs whatever N: three workers (evaluating in this process, to stay fast)
    give the chain of one."""
    _, reference = gaussian_run

    class PoolInThisProcess:
        """What a pool of ``size`` processes does, here: each job on its own copy of the function."""

        def __init__(self, size):
            self.size = size

        def map(self, function, items):
            return [pickle.loads(pickle.dumps(function))(item) for item in items]

    @contextlib.contextmanager
    def workers_in_this_process(likelihood, cores):
        install(likelihood)
        yield PoolInThisProcess(cores)

    monkeypatch.setattr(nautilus_sampler, "parallel_pool", workers_in_this_process)
    likelihood = BatchGaussian(uniform_model())
    results = sample_nautilus(likelihood, QUICK, cores=3, progress=False)
    assert likelihood.batch_sizes == {33, 34}  # batches of 100 rows in 3 chunks
    for name in ("samples", "logwt", "logl", "logz"):
        np.testing.assert_array_equal(getattr(results, name), getattr(reference, name), err_msg=name)


@pytest.mark.slow
def test_two_processes_give_the_chain_of_one(gaussian_run):
    _, reference = gaussian_run
    results = sample_nautilus(Gaussian(uniform_model()), QUICK, cores=2, progress=False)
    np.testing.assert_array_equal(results.samples, reference.samples)


@pytest.mark.parametrize("bad, message", [(dict(nlive=0), "nlive"), (dict(n_batch=2.5), "n_batch"),
                                          (dict(n_eff=-1), "n_eff"), (dict(f_live=1.0), "f_live"),
                                          (dict(seed=-1), "seed")])
def test_settings_reject_bad_values(bad, message):
    with pytest.raises(ValueError, match=message):
        NautilusSettings(**bad)


def test_sampler_options_belong_to_their_sampler():
    dynesty_defaults = dict(bound="multi", sample="auto", dlogz=None, dynamic=False)
    settings = sampler_settings("nautilus", None, 5, 100, dynesty_defaults, QUICK_OPTIONS)
    assert settings == NautilusSettings(n_networks=1, n_eff=500, seed=5)
    assert settings.as_dict()["name"] == "nautilus"
    assert sampler_settings("dynesty", None, 5, 1, dynesty_defaults).nlive == 100
    with pytest.raises(ValueError, match="dynamic: dynesty options"):
        sampler_settings("nautilus", None, 0, 100, {**dynesty_defaults, "dynamic": True})
    with pytest.raises(ValueError, match="sampler is dynesty"):
        sampler_settings("dynesty", None, 0, 1, dynesty_defaults, QUICK_OPTIONS)
    with pytest.raises(ValueError, match="give them as nlive"):
        sampler_settings("nautilus", None, 0, 100, dynesty_defaults, dict(seed=2))
    with pytest.raises(ValueError, match="sampler must be one of dynesty, nautilus"):
        sampler_settings("emcee", None, 0, 1, dynesty_defaults)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    model_folder = write_model(tmp_path_factory.mktemp("model") / "tiny")
    return clusterlens.simulate(model_folder, tmp_path_factory.mktemp("data") / "dataset", seed=3)


def _nautilus_fit(dataset, out):
    return fit(dataset, out=out, likelihood="source", sampler="nautilus", nlive=100, cores=1, seed=11,
               progress=False, plots=False, nautilus_options=QUICK_OPTIONS)


@pytest.fixture(scope="module")
def nautilus_fit(dataset, tmp_path_factory):
    return _nautilus_fit(dataset, tmp_path_factory.mktemp("runs") / "nautilus")


def test_fit_writes_the_results_files_and_recovers_the_truth(nautilus_fit):
    folder = nautilus_fit.folder
    for name in ("samples.csv", "summary.csv", "summary.json", "chires.csv", "run.json", "checkpoint.hdf5"):
        assert (folder / name).is_file(), name
    for name in ("max_likelihood", "median"):
        assert (folder / name / "dataset.toml").is_file(), name
    info = json.loads((folder / "summary.json").read_text())
    assert info["sampler"]["name"] == "nautilus" and info["sampler"]["seed"] == 11
    assert np.isfinite(info["log_evidence"]) and 0 < info["log_evidence_error"] < 0.2
    assert "nautilus" in info["versions"]
    assert json.loads((folder / "run.json").read_text())["sampler"] == info["sampler"]
    summary = nautilus_fit.summary.set_index("label")
    for label, truth in TRUTH.items():
        lo, hi = np.quantile(nautilus_fit.samples[label], [0.00135, 0.99865])  # 99.7% interval
        assert lo <= truth <= hi, label
        assert summary.loc[label, "p2.5"] <= summary.loc[label, "median"] <= summary.loc[label, "p97.5"]


def test_resuming_a_finished_fit_rewrites_the_same_samples(dataset, nautilus_fit):
    before = (nautilus_fit.folder / "samples.csv").read_bytes()
    again = fit(dataset, out=nautilus_fit.folder, likelihood="source", sampler="nautilus", nlive=100, cores=1,
                seed=11, resume=True, progress=False, plots=False, nautilus_options=QUICK_OPTIONS)
    assert again.info["resumed"] is True
    assert (nautilus_fit.folder / "samples.csv").read_bytes() == before


@pytest.mark.slow
def test_same_seed_gives_byte_identical_samples(dataset, nautilus_fit, tmp_path):
    second = _nautilus_fit(dataset, tmp_path / "again")
    assert (second.folder / "samples.csv").read_bytes() == (nautilus_fit.folder / "samples.csv").read_bytes()


@pytest.mark.skipif(shutil.which("mpiexec") is None or importlib.util.find_spec("mpi4py") is None,
                    reason="needs an MPI launcher (mpiexec) and mpi4py")
def test_mpi_ranks_give_the_chain_of_one_process(dataset, nautilus_fit, tmp_path):
    """Under mpiexec -n 3, rank 0 samples and 2 ranks evaluate the batches: the samples of the one-process fit."""
    out = tmp_path / "mpi"
    script = ("import sys; from clusterlens.fit import fit; "
              "fit(sys.argv[1], out=sys.argv[2], likelihood='source', sampler='nautilus', nlive=100, seed=11, "
              f"progress=False, plots=False, nautilus_options={QUICK_OPTIONS!r})")
    done = subprocess.run(["mpiexec", "-n", "3", sys.executable, "-c", script, str(dataset), str(out)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    ranks = read_results(out)
    assert ranks.info["mpi"] and ranks.info["cores"] == 2
    assert (out / "samples.csv").read_bytes() == (nautilus_fit.folder / "samples.csv").read_bytes()


def test_a_nautilus_folder_is_not_resumed_by_dynesty(dataset, nautilus_fit):
    with pytest.raises(FileExistsError, match="holds a different fit"):
        fit(dataset, out=nautilus_fit.folder, likelihood="source", nlive=100, cores=1, seed=11, resume=True,
            progress=False, plots=False)


@pytest.mark.parametrize("command", ["fit", "run"])
def test_cli_passes_the_sampler_option(command, tmp_path, monkeypatch):
    import clusterlens.fit

    calls = []
    monkeypatch.setattr(clusterlens.fit, command, lambda *args, **kwargs: calls.append(kwargs))
    assert main([command, str(tmp_path), "--sampler", "nautilus", "--nlive", "300"]) == 0
    assert main([command, str(tmp_path)]) == 0
    assert [(c["sampler"], c["nlive"]) for c in calls] == [("nautilus", 300), ("dynesty", None)]
