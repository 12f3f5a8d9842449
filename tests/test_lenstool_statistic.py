"""Lenstool's statistic (fit/lenstool_statistic.py) through the lenstool likelihood, against hand computations:
back-tracing with the model's public deflections, the forme's source rule, matching by brute force
(tests/inversion.py, no clusterlens solver code); the A2744 best.par score; unmatched images; the
dataset.toml [fit] default of `clusterlens fit`."""
import dataclasses
import json

import numpy as np
import pytest

import clusterlens.fit.lenstool_statistic as statistic
from clusterlens.cli import main
from clusterlens.fit.point_likelihood import make_likelihood
from clusterlens.model import ClusterModel, save_model
from inversion import brute_force_images

Z_SOURCE = 2.0
SIGMA = np.array([0.1, 0.2, 0.15, 0.3, 0.25])  # per image: forme -2 uses the first of each system's


def sie_model(fit_table=None):
    """An elliptical isothermal lens with a 3-image and a 2-image system, positions perturbed off the
    exact images of two sources (found by brute force) by ~0.1 arcsec."""
    lens = [{"galaxy": "sie", "profile": "SIE", "x": 0.1, "y": -0.2, "redshift": 0.3, "q": 0.75, "angle": 20.0,
             "theta_e": 2.5, "r_core": 0.0}]
    dataset = {"reference": {"ra": 10.0, "dec": -20.0}, "cosmology": {"H0": 70.0, "Om0": 0.3},
               **({"fit": fit_table} if fit_table else {})}
    bare = ClusterModel.from_records({"main_lens_mass": lens}, dataset)
    scale = bare.distance_ratio(Z_SOURCE)
    found = brute_force_images(bare.lens, [0.13, 0.9], [-0.16, -0.1], scale, (-6, 6, -6, 6), 0.05)
    rng = np.random.default_rng(5)
    points, k = [], 0
    for name, images, keep in (("A", found[0], 3), ("B", found[1], 2)):
        order = np.argsort(-np.hypot(*(images - [0.1, -0.2]).T))[:keep]  # drop a central image if any
        for x, y in images[order]:
            dx, dy = rng.normal(0, 0.1, 2)
            points.append({"name": name, "image": f"{name}.{k}", "x": x + dx, "y": y + dy, "sigma": SIGMA[k]})
            k += 1
    sources = [{"galaxy": n, "name": n, "x": 0.0, "y": 0.0, "redshift": Z_SOURCE} for n in "AB"]
    return ClusterModel.from_records({"main_lens_mass": lens, "source_point": sources, "point_datasets": points},
                                     dataset)


@pytest.fixture(scope="module")
def model():
    return sie_model()


def by_hand(model, forme):
    """Per-image chi2 and per-system sources of Lenstool's statistic, computed independently."""
    x = np.array([p.x for p in model.point_datasets])
    y = np.array([p.y for p in model.point_datasets])
    names = [p.name for p in model.point_datasets]
    ax, ay = model.deflections(x, y, Z_SOURCE)
    bx, by = x - ax, y - ay
    mu = model.magnification(x, y, Z_SOURCE)
    scale = model.distance_ratio(Z_SOURCE)
    chi2, sources = np.empty(x.size), {}
    for name in ("A", "B"):
        rows = np.array([n == name for n in names])
        w = np.abs(mu[rows]) if forme == -2 else np.ones(rows.sum())
        sx, sy = np.sum(w * bx[rows]) / w.sum(), np.sum(w * by[rows]) / w.sum()
        sources[name] = (sx, sy)
        first_sigma = SIGMA[np.flatnonzero(rows)[0]]
        if forme == 0:
            variance = first_sigma**2 * np.mean(np.abs(1 / mu[rows]))
            chi2[rows] = ((bx[rows] - sx) ** 2 + (by[rows] - sy) ** 2) / variance
            continue
        predicted = brute_force_images(model.lens, sx, sy, scale, (-6, 6, -6, 6), 0.05)[0]
        d2 = (predicted[:, 0][None, :] - x[rows, None]) ** 2 + (predicted[:, 1][None, :] - y[rows, None]) ** 2
        variance = SIGMA[rows] ** 2 if forme == -1 else first_sigma**2
        chi2[rows] = d2.min(axis=1) / variance
    return chi2, sources


@pytest.mark.parametrize("forme", [-2, -1, 0])
def test_lenstool_likelihood_matches_a_hand_computation(model, forme):
    L = make_likelihood(model, "lenstool", forme=forme)
    out = L.evaluate([])
    expected, sources = by_hand(model, forme)
    assert out.chi2_images == pytest.approx(expected, rel=1e-6)
    assert out.chi2 == pytest.approx(expected.sum(), rel=1e-6) and L([]) == pytest.approx(-0.5 * out.chi2)
    for k, name in enumerate(L.images.names):
        assert (out.source_x[k], out.source_y[k]) == pytest.approx(sources[name], abs=1e-10)
    assert out.matched.all()


def test_the_formes_differ_and_bad_formes_fail(model):
    values = {f: make_likelihood(model, "lenstool", forme=f).evaluate([]).chi2 for f in (-2, -1, 0)}
    assert len(set(values.values())) == 3
    for bad in (1, -3, True, "-2"):
        with pytest.raises(ValueError, match="forme must be one of -2, -1, 0"):
            make_likelihood(model, "lenstool", forme=bad)


def test_a_one_image_system_is_refused():
    records = sie_model()
    one = ClusterModel.with_rows(records, "point_datasets", records.point_datasets[:4])
    with pytest.raises(ValueError, match="B has one"):
        make_likelihood(one, "lenstool")


def test_an_unmatched_image_scores_zero_is_flagged_and_penalised(model, monkeypatch, tmp_path, capsys):
    """Lenstool's score of an unmatched image is 0 (flagged); log L adds the missing-image penalty, so
    a model that loses an image is worse than the same model with the image found."""
    real = statistic.match_images

    def lose_the_second(*args, **options):
        match = real(*args, **options)
        matched = match.matched.copy()
        matched[1] = False
        return dataclasses.replace(match, matched=matched)

    monkeypatch.setattr(statistic, "match_images", lose_the_second)
    L = make_likelihood(model, "lenstool")
    out = L.evaluate([])
    assert not out.matched[1] and out.matched[[0, 2, 3, 4]].all()
    assert out.chi2_images[1] == 0.0 and (out.x_pred[1], out.y_pred[1]) == (L.images.x[1], L.images.y[1])
    lost = L([])
    with monkeypatch.context() as undo:
        undo.setattr(statistic, "match_images", real)
        assert make_likelihood(model, "lenstool")([]) > lost
    source_plane_term = make_likelihood(model, "source").evaluate([]).chi2_images[1]
    penalty = max(L.missing_penalty * source_plane_term, (L.missing_distance / L.images.sigma[1]) ** 2)
    assert out.chi2_missing == pytest.approx(penalty, rel=1e-12)
    assert L([]) == pytest.approx(-0.5 * (out.chi2 + penalty), rel=1e-12)
    save_model(model, tmp_path / "data")
    assert main(["chi2", str(tmp_path / "data"), "--likelihood", "lenstool", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_unmatched"] == 1 and [r["matched"] for r in report["images"]] == [True, False, True, True, True]
    assert report["images"][1]["chi2"] == 0.0


def test_dataset_fit_table_is_the_default_of_fit_and_chi2(tmp_path, monkeypatch, capsys):
    import clusterlens.fit.pipeline as pipeline

    save_model(sie_model({"likelihood": "lenstool", "forme": -1}), tmp_path / "data")
    (tmp_path / "data" / "priors.csv").write_text("family,galaxy,parameter,prior,lower,upper\n"
                                                  "main_lens_mass,sie,theta_e,uniform,2.0,3.0\n")
    seen = []

    def stop(L, *args, **kwargs):
        seen.append((L.kind, L.forme))
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "sample", stop)
    for argv, expected in (([], ("lenstool", -1)), (["--likelihood", "image"], ("image", -2))):
        assert main(["fit", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--overwrite", *argv]) == 130
        assert seen[-1] == expected
    capsys.readouterr()
    assert main(["chi2", str(tmp_path / "data"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["likelihood"], report["forme"]) == ("lenstool", -1)
    assert report["chi2"] == pytest.approx(by_hand(sie_model(), -1)[0].sum(), rel=1e-6)
    assert main(["chi2", str(tmp_path / "data"), "--json", "--likelihood", "source"]) == 0
    assert json.loads(capsys.readouterr().out)["likelihood"] == "source"
