"""Fast checks of the fit machinery on a Gaussian likelihood with a closed-form evidence and posterior,
plus settings, priors in Python, results-folder safety and MPI detection."""
from __future__ import annotations

import io
import json
import math
import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from clusterlens.errors import ModelError
from clusterlens.fit import Parameters, SamplerSettings, with_priors
from clusterlens.fit import sampler as sampler_module
from clusterlens.fit.pipeline import RUN_RECORD, FolderLock, plan_fit, staging_folder
from clusterlens.fit.progress import SamplingProgress, fraction_done, log_text
from clusterlens.fit.results import equal_weight_samples, parameter_summary
from clusterlens.fit.sampler import mpi_world_size, sample
from fit_cluster import model as tiny_model

WIDTHS = {"m200": (5e14, 1.5e15), "sigma": (250.0, 400.0), "sigma_ref": (100.0, 220.0)}


def uniform_model():
    priors = [dict(family="host_halo", galaxy="halo", parameter="m200", prior="uniform", lower=5e14, upper=1.5e15),
              dict(family="main_lens_mass", galaxy="BCG", parameter="sigma", prior="uniform", lower=250, upper=400),
              dict(family="scaling_relations", galaxy="members", parameter="sigma_ref", prior="uniform",
                   lower=100, upper=220)]
    return with_priors(tiny_model(), priors, replace=True)


class Gaussian:
    """log L = -chi2/2 of independent Gaussians (mean, sigma) in the free parameters; picklable."""

    def __init__(self, model, fraction: float = 0.05, fail_after: int | None = None):
        self.parameters = Parameters.from_model(model)
        lower = np.array([WIDTHS[p.column][0] for p in self.parameters.free])
        upper = np.array([WIDTHS[p.column][1] for p in self.parameters.free])
        self.width = upper - lower
        self.mean = lower + 0.45 * self.width
        self.sigma = fraction * self.width
        self.fail_after = fail_after
        self.calls = 0

    def __call__(self, values) -> float:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        return float(-0.5 * np.sum(((np.asarray(values) - self.mean) / self.sigma) ** 2))


@pytest.fixture(scope="module")
def gaussian_run():
    likelihood = Gaussian(uniform_model())
    return likelihood, sample(likelihood, SamplerSettings(nlive=100, seed=4), progress=False)


def test_evidence_matches_the_closed_form(gaussian_run):
    """Z = prod_i sqrt(2 pi) sigma_i / W_i for a Gaussian well inside uniform priors of widths W_i."""
    likelihood, results = gaussian_run
    expected = float(np.sum(np.log(np.sqrt(2 * np.pi) * likelihood.sigma / likelihood.width)))
    assert abs(results.logz[-1] - expected) < 3 * results.logzerr[-1] + 0.05


def test_posterior_quantiles_match_the_gaussian(gaussian_run):
    likelihood, results = gaussian_run
    summary = parameter_summary(results, likelihood.parameters)
    z = {"p2.5": -1.959964, "p16": -0.994458, "median": 0.0, "p84": 0.994458, "p97.5": 1.959964}
    for i, row in summary.iterrows():
        for column, k in z.items():
            assert abs(row[column] - (likelihood.mean[i] + k * likelihood.sigma[i])) < 0.3 * likelihood.sigma[i]
    assert summary["truth"].isna().all()
    assert list(summary["label"]) == likelihood.parameters.labels


def test_summary_quantiles_are_dynestys_weighted_quantiles():
    """p16, median, p84 (and p2.5, p97.5) of summary.csv are dynesty's weighted quantiles of the samples,
    with weights exp(logwt) normalised (a synthetic weighted sample set: no sampler run)."""
    from dynesty.utils import quantile

    parameters = Parameters.from_model(uniform_model())
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(400, len(parameters))) * [1e14, 10.0, 5.0] + [1e15, 300.0, 150.0]
    logwt = rng.normal(-1000.0, 2.0, 400)
    results = SimpleNamespace(samples=samples, logwt=logwt, logl=rng.normal(size=400))
    summary = parameter_summary(results, parameters)
    weights = np.exp(logwt - logwt.max())
    weights /= weights.sum()
    for i, row in summary.iterrows():
        p16, p50, p84 = quantile(samples[:, i], [0.16, 0.5, 0.84], weights=weights)
        p2, p97 = quantile(samples[:, i], [0.025, 0.975], weights=weights)
        assert (row["p16"], row["median"], row["p84"], row["p2.5"], row["p97.5"]) == (p16, p50, p84, p2, p97)
        assert row["max_likelihood"] == samples[np.argmax(results.logl), i]


def test_equal_weight_samples_are_seeded_and_follow_the_posterior(gaussian_run):
    likelihood, results = gaussian_run
    labels = likelihood.parameters.labels
    a, b = (equal_weight_samples(results, labels, seed=9) for _ in range(2))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(equal_weight_samples(results, labels, seed=10))
    standardised = (a[labels].to_numpy() - likelihood.mean) / likelihood.sigma
    assert np.all(np.abs(standardised.mean(axis=0)) < 0.2)
    assert np.all(np.abs(standardised.std(axis=0) - 1) < 0.2)
    assert np.allclose(a["log_likelihood"], [likelihood(v) for v in a[labels].to_numpy()])


def test_interrupted_run_resumes_to_the_same_chain(tmp_path):
    settings = SamplerSettings(nlive=40, seed=2)
    reference = sample(Gaussian(uniform_model()), settings, progress=False)
    checkpoint = tmp_path / "checkpoint.save"
    with pytest.raises(KeyboardInterrupt):
        sample(Gaussian(uniform_model(), fail_after=600), settings, checkpoint=checkpoint, checkpoint_every=1e-6,
               progress=False)
    assert checkpoint.exists()
    resumed = sample(Gaussian(uniform_model()), settings, checkpoint=checkpoint, resume=True, progress=False)
    assert resumed.niter == reference.niter
    assert np.array_equal(resumed.samples, reference.samples)
    assert np.array_equal(resumed.logl, reference.logl)


def test_queue_size_fixes_the_chain_and_changes_it():
    one = sample(Gaussian(uniform_model()), SamplerSettings(nlive=30, seed=1), progress=False)
    two = sample(Gaussian(uniform_model()), SamplerSettings(nlive=30, seed=1, queue_size=2), progress=False)
    again = sample(Gaussian(uniform_model()), SamplerSettings(nlive=30, seed=1, queue_size=2), progress=False)
    assert np.array_equal(two.samples, again.samples)
    assert not np.array_equal(one.samples[-30:], two.samples[-30:])


@pytest.mark.parametrize("bad, message", [
    (dict(nlive=1), "nlive"), (dict(bound="ellipse"), "bound"), (dict(sample="mcmc"), "sample"),
    (dict(dlogz=-1.0), "dlogz"), (dict(seed=-3), "seed"), (dict(queue_size=0), "queue_size"),
])
def test_sampler_settings_reject_bad_values(bad, message):
    with pytest.raises(ValueError, match=message):
        SamplerSettings(**bad)


class EnvironmentWatcher(Gaussian):
    """The Gaussian likelihood, noting the CLUSTERLENS_THREADS each call sees."""

    def __init__(self, model):
        super().__init__(model)
        self.seen: set[str | None] = set()

    def __call__(self, values) -> float:
        self.seen.add(os.environ.get("CLUSTERLENS_THREADS"))
        return super().__call__(values)


def test_sampling_leaves_the_environment_alone(monkeypatch):
    monkeypatch.delenv("CLUSTERLENS_THREADS", raising=False)
    likelihood = EnvironmentWatcher(uniform_model())
    sample(likelihood, SamplerSettings(nlive=10, seed=1, queue_size=2, dlogz=50.0), progress=False)
    assert likelihood.seen == {None}


def test_fit_builds_its_likelihood_on_one_thread(tmp_path, monkeypatch):
    """The sampler's processes are the parallelism: fit asks for one lens thread explicitly."""
    import clusterlens.fit.pipeline
    from clusterlens import save_model
    from clusterlens.fit import fit

    class Built(Exception):
        pass

    def make_likelihood(model, kind="source", **options):
        raise Built(options)

    monkeypatch.setattr(clusterlens.fit.pipeline, "make_likelihood", make_likelihood)
    save_model(uniform_model(), tmp_path / "dataset")
    with pytest.raises(Built) as caught:
        fit(tmp_path / "dataset", out=tmp_path / "out", progress=False)
    assert caught.value.args[0] == {"threads": 1}


def test_sample_rejects_bad_cores_and_missing_checkpoint(tmp_path):
    likelihood = Gaussian(uniform_model())
    with pytest.raises(ValueError, match="cores"):
        sample(likelihood, SamplerSettings(), cores=0)
    with pytest.raises(FileNotFoundError, match="cannot resume"):
        sample(likelihood, SamplerSettings(), checkpoint=tmp_path / "none.save", resume=True)


def test_with_priors_adds_replaces_and_validates():
    model = tiny_model()
    new = with_priors(model, [dict(family="main_lens_mass", galaxy="G2", parameter="sigma", prior="normal",
                                   mean=220.0, sigma=20.0)])
    assert Parameters.from_model(new).labels == [*Parameters.from_model(model).labels, "main_lens_mass.G2.sigma"]
    replaced = with_priors(model, [dict(family="main_lens_mass", galaxy="BCG", parameter="sigma", prior="uniform",
                                        lower=300.0, upper=340.0)])
    bcg = [p for p in replaced.priors if p.galaxy == "BCG"]
    assert len(bcg) == 1 and (bcg[0].lower, bcg[0].upper) == (300.0, 340.0)
    assert len(replaced.priors) == len(model.priors)
    only = with_priors(model, [dict(family="host_halo", galaxy="halo", parameter="concentration", prior="uniform",
                                    lower=2.0, upper=9.0)], replace=True)
    assert Parameters.from_model(only).labels == ["host_halo.halo.concentration"]
    with pytest.raises(ModelError, match="'G9' is not a galaxy"):
        with_priors(model, [dict(family="main_lens_mass", galaxy="G9", parameter="sigma", prior="uniform",
                                 lower=1.0, upper=2.0)])
    with pytest.raises(ModelError, match="not a numeric parameter"):
        with_priors(model, [dict(family="main_lens_mass", galaxy="BCG", parameter="theta_e", prior="uniform",
                                 lower=1.0, upper=2.0)])
    with pytest.raises(ModelError, match="prior"):
        with_priors(model, [dict(family="host_halo", galaxy="halo", parameter="m200", prior="flat")])


def test_plan_fit_refuses_foreign_folders_and_stages_replacements(tmp_path):
    record = {"dataset_sha256": "abc", "likelihood": "source", "likelihood_options": {},
              "sampler": SamplerSettings().as_dict(), "labels": ["a.b.c"]}
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="not a clusterlens results folder"):
            plan_fit(foreign, record, resume=False, overwrite=overwrite)
    (foreign / RUN_RECORD).write_text(json.dumps(record))  # a run.json alone does not make it ours
    with pytest.raises(FileExistsError, match="not a clusterlens results folder"):
        plan_fit(foreign, record, resume=True, overwrite=True)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt", RUN_RECORD]
    mine = tmp_path / "mine"
    assert plan_fit(mine, record, resume=False, overwrite=False) == (mine, False)
    assert json.loads((mine / RUN_RECORD).read_text()) == record
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="an interrupted run of this fit: pass --resume"):
        plan_fit(mine, record, resume=False, overwrite=False)
    assert plan_fit(mine, record, resume=True, overwrite=False) == (mine, False)  # no checkpoint yet: start
    (mine / "checkpoint.save").write_bytes(b"x")
    assert plan_fit(mine, record, resume=True, overwrite=False) == (mine, True)
    other = {**record, "likelihood": "image"}
    with pytest.raises(FileExistsError, match="likelihood 'source' -> 'image'"):
        plan_fit(mine, other, resume=True, overwrite=False)
    work = staging_folder(mine)
    assert plan_fit(mine, other, resume=True, overwrite=True) == (work, False)  # cannot reuse: a new fit beside
    assert (mine / "checkpoint.save").exists() and json.loads((mine / RUN_RECORD).read_text()) == record
    assert json.loads((work / RUN_RECORD).read_text()) == other
    (work / "checkpoint.save").write_bytes(b"y")
    assert plan_fit(mine, other, resume=False, overwrite=False, update=True) == (work, True)  # a killed re-fit
    assert plan_fit(mine, other, resume=False, overwrite=True) == (work, False)
    assert not (work / "checkpoint.save").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        plan_fit(tmp_path / "file", record, resume=False, overwrite=False)
    (tmp_path / "link").symlink_to(mine)
    with pytest.raises(ValueError, match="symbolic link"):
        plan_fit(tmp_path / "link", record, resume=True, overwrite=True)


def test_mpi_world_size_reads_the_launchers_variables():
    assert mpi_world_size({}) == 1
    assert mpi_world_size({"OMPI_COMM_WORLD_SIZE": "4"}) == 4
    assert mpi_world_size({"PMI_SIZE": "3"}) == 3
    assert mpi_world_size({"MV2_COMM_WORLD_SIZE": "8"}) == 8
    assert mpi_world_size({"PMI_SIZE": ""}) == 1


def test_mpi_launch_without_mpi4py_says_how_to_install_it(monkeypatch):
    try:
        import mpi4py  # noqa: F401 -- imported only to learn whether it is installed
    except ImportError:
        pass
    else:
        pytest.skip("mpi4py is installed")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    with pytest.raises(sampler_module.MPIUnavailable, match="pip install mpi4py"):
        sample(Gaussian(uniform_model()), SamplerSettings())


def test_progress_line_formats_log_evidence_and_writes_the_first_checkpoint_once(monkeypatch):
    from rich.console import Console

    assert log_text(-12.345) == "-12.35" and log_text(-1e300) == "-1e+300" and log_text(float("-inf")) == "-inf"
    assert fraction_done(None, 0.5, None) == 0.0 and fraction_done(0.4, 0.5, 100.0) == 1.0
    assert abs(fraction_done(math.sqrt(50.0), 0.5, 100.0) - 0.5) < 1e-12  # halfway in log(dlogz)
    saved = []
    console = Console(file=io.StringIO(), width=120, force_terminal=True)
    report = SamplingProgress(save_checkpoint=lambda: saved.append(1), first_checkpoint_s=0.0, console=console)

    class Result:
        logz, logzvar, eff, delta_logz = -1e300, None, 12.5, 3.21

    report(Result(), 120, 4000, dlogz=0.5)
    report(Result(), 121, 4010, dlogz=0.5)
    report.close()
    out = console.file.getvalue()
    assert "iter     121" in out and "logZ   -1e+300" in out and "dlogz     3.21 > 0.5" in out
    assert "0" * 20 not in out and saved == [1]  # no 300-digit number; one early checkpoint
    quiet = SamplingProgress(show=False)
    quiet(Result(), 1, 1, dlogz=0.5)
    assert quiet.progress is None


def test_folder_lock_refuses_a_second_fit_until_released(tmp_path):
    first, second = FolderLock(tmp_path / "run"), FolderLock(tmp_path / "run")
    first.acquire()
    with pytest.raises(FileExistsError, match="in use by another running fit"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()
