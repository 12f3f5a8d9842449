"""The dataset folder: reproducible bytes, seeds, WCS orientation, point images against the lens
equation and an independent image-finder run, ensure_dataset's reuse rule, and folder safety."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from rich.console import Console

from clusterlens import ClusterModel, ModelError, load_model, save_model
from clusterlens.cli import main
from clusterlens.cosmology import distance_ratio
from clusterlens.simulation import dataset_folder, ensure_dataset, simulate, stale_reason
from clusterlens.solver import ImageFinder

Z_LENS = 0.3
REFERENCE = {"ra": 150.1, "dec": 2.2}
DATASET = {"name": "tiny", "reference": REFERENCE, "cosmology": {"H0": 70.0, "Om0": 0.3},
           "imaging": {"shape": [64, 64], "pixel_scale": 0.1, "psf_fwhm": 0.12, "psf_size": 11,
                       "exposure_time": 1000.0, "background": 0.3, "read_noise": 3.0, "oversampling": 2},
           "points": {"position_sigma": 0.02, "time_delays": True}}
LENS = [{"galaxy": "L", "profile": "SIE", "x": 0.1, "y": -0.05, "redshift": Z_LENS, "q": 0.8, "angle": 20.0,
         "theta_e": 1.5, "r_core": 0.05},
        {"galaxy": "shear", "profile": "ExternalShear", "redshift": Z_LENS, "gamma": 0.03, "angle": 10.0}]
LIGHT = [{"galaxy": "A", "profile": "Sersic", "x": 0.1, "y": 0.05, "redshift": 1.0, "q": 0.7, "angle": 30.0,
          "intensity": 5.0, "effective_radius": 0.2, "sersic_index": 1.0},
         {"galaxy": "B", "profile": "Sersic", "x": -0.2, "y": 0.1, "redshift": 2.0, "q": 0.8, "angle": 60.0,
          "intensity": 3.0, "effective_radius": 0.15, "sersic_index": 1.5}]


def point_rows(count: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    redshifts = [2.0, 3.0]
    return [{"galaxy": f"P{i}", "name": f"p{i}", "x": float(x), "y": float(y), "redshift": redshifts[i % 2],
             "flux": 10.0 if i % 3 else None} for i, (x, y) in enumerate(rng.uniform(-0.35, 0.35, (count, 2)))]


def write_model(folder: Path, records: dict, dataset: dict = DATASET) -> Path:
    save_model(ClusterModel.from_records(records, dataset), folder)
    return folder


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    return write_model(folder, {"main_lens_mass": LENS, "source_light": LIGHT, "source_point": point_rows(80)})


@pytest.fixture(scope="module")
def dataset(model_folder, tmp_path_factory) -> Path:
    return simulate(model_folder, tmp_path_factory.mktemp("sim") / "seed7", seed=7)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ---------------------------------------------------------------- reproducibility
def test_same_seed_gives_byte_identical_files_api_and_cli(model_folder, dataset, tmp_path):
    again = tmp_path / "again"
    assert main(["simulate", str(model_folder), str(again), "--seed", "7"]) == 0
    first, second = files_of(dataset), files_of(again)
    assert set(first) == {"data.fits", "noise_map.fits", "psf.fits", "point_datasets.csv", "true_images.csv",
                          "preview.png", "manifest.json", "dataset.toml", "main_lens_mass.csv", "source_light.csv",
                          "source_point.csv"}
    assert first == second


def test_different_seed_changes_the_noise_only(model_folder, dataset, tmp_path):
    other = simulate(model_folder, tmp_path / "seed8", seed=8)
    a, b = files_of(dataset), files_of(other)
    for name in ("true_images.csv", "dataset.toml", "source_light.csv"):
        assert a[name] == b[name], name
    for name in ("noise_map.fits", "psf.fits"):  # same pixels; only the SEED card differs
        np.testing.assert_array_equal(fits.getdata(dataset / name), fits.getdata(other / name))
        assert fits.getheader(other / name)["SEED"] == 8
    for name in ("data.fits", "point_datasets.csv"):
        assert a[name] != b[name], name
    d1, d2 = fits.getdata(dataset / "data.fits"), fits.getdata(other / "data.fits")
    noise = fits.getdata(dataset / "noise_map.fits")
    # two independent noise draws around one noise-free image: the difference has sigma sqrt(2) noise
    pull = ((d1 - d2) / noise).ravel()
    assert abs(pull.mean()) < 5 * np.sqrt(2 / pull.size)
    assert pull.std() == pytest.approx(np.sqrt(2), rel=0.05)
    p1, p2 = pd.read_csv(dataset / "point_datasets.csv"), pd.read_csv(other / "point_datasets.csv")
    assert (p1[["name", "image"]].to_numpy() == p2[["name", "image"]].to_numpy()).all()


def test_manifest_records_inputs_outputs_and_settings_without_time(model_folder, dataset):
    from clusterlens import __version__

    manifest = json.loads((dataset / "manifest.json").read_text())
    assert set(manifest) == {"clusterlens_version", "seed", "imaging", "points", "inputs", "outputs"}
    assert manifest["seed"] == 7 and manifest["clusterlens_version"] == __version__
    assert manifest["imaging"]["shape"] == [64, 64] and manifest["points"]["position_sigma"] == 0.02
    import hashlib

    for name in ("dataset.toml", "main_lens_mass.csv", "source_light.csv", "source_point.csv"):
        assert (dataset / name).read_bytes() == (model_folder / name).read_bytes()
        assert manifest["inputs"][name] == hashlib.sha256((model_folder / name).read_bytes()).hexdigest()
    assert set(manifest["outputs"]) == {p.name for p in dataset.iterdir()} - {"manifest.json"}
    for name, digest in manifest["outputs"].items():
        assert hashlib.sha256((dataset / name).read_bytes()).hexdigest() == digest
    for name in ("data.fits", "noise_map.fits", "psf.fits"):
        header = fits.getheader(dataset / name)
        assert not any(key.startswith("DATE") for key in header)
        assert header["SEED"] == 7 and header["CLVERSN"] == __version__ and header["OVERSAMP"] == 2
        assert header["EXPTIME"] == 1000.0 and header["PSFFWHM"] == 0.12 and header["RDNOISE"] == 3.0
        assert WCS(header).has_celestial == (name != "psf.fits")  # a PSF has no sky position
    psf = fits.getheader(dataset / "psf.fits")
    assert (psf["CTYPE1"], psf["CUNIT1"], psf["CDELT1"], psf["CRVAL1"]) == ("LINEAR", "arcsec", 0.1, 0.0)
    assert fits.getdata(dataset / "psf.fits").sum() == pytest.approx(1.0)


def test_dataset_folder_loads_as_a_model(dataset):
    model = load_model(dataset)
    assert len(model.point_datasets) == len(pd.read_csv(dataset / "true_images.csv"))


# ---------------------------------------------------------------- physics of the outputs
def test_source_to_the_west_appears_at_lower_ra(tmp_path):
    negligible = [{"galaxy": "L", "profile": "SIE", "x": 0.0, "y": 0.0, "redshift": Z_LENS, "q": 1.0, "angle": 0.0,
                   "theta_e": 1e-6, "r_core": 0.0}]
    light = [{"galaxy": "S", "profile": "Sersic", "x": 1.2, "y": 0.6, "redshift": 1.5, "q": 1.0, "angle": 0.0,
              "intensity": 50.0, "effective_radius": 0.15, "sersic_index": 1.0}]
    settings = {**DATASET, "imaging": {**DATASET["imaging"], "center_x": 0.4, "center_y": -0.3, "background": 0.0,
                                       "read_noise": 0.0}}
    model = write_model(tmp_path / "m", {"main_lens_mass": negligible, "source_light": light}, settings)
    out = simulate(model, tmp_path / "out", seed=1)
    with fits.open(out / "data.fits") as hdul:
        data, wcs = hdul[0].data, WCS(hdul[0].header)
    rows, cols = np.indices(data.shape)
    weight = np.clip(data, 0, None)
    centroid = wcs.pixel_to_world((weight * cols).sum() / weight.sum(), (weight * rows).sum() / weight.sum())
    ra0, dec0 = REFERENCE["ra"], REFERENCE["dec"]
    assert centroid.ra.deg < ra0
    x = -(centroid.ra.deg - ra0) * np.cos(np.radians(dec0)) * 3600
    y = (centroid.dec.deg - dec0) * 3600
    assert (x, y) == pytest.approx((1.2, 0.6), abs=0.01)


def test_true_images_solve_the_lens_equation(model_folder, dataset):
    model = load_model(model_folder)
    truth = pd.read_csv(dataset / "true_images.csv")
    sources = {p.name: p for p in model.source_points}
    for z, group in truth.groupby("redshift"):
        x, y = group["x"].to_numpy(), group["y"].to_numpy()
        ax, ay = model.deflections(x, y, z)
        src = np.array([(sources[n].x, sources[n].y) for n in group["name"]])
        np.testing.assert_allclose(np.column_stack([x - ax, y - ay]), src, atol=1e-7)
        np.testing.assert_allclose(group["magnification"], model.magnification(x, y, z), rtol=1e-6)
    assert (np.abs(truth["magnification"]) >= 0.1).all()
    assert (truth.groupby("name")["time_delay"].min() == 0).all()


def test_point_datasets_are_the_finder_images_plus_configured_noise(model_folder, dataset):
    model = load_model(model_folder)
    observed = pd.read_csv(dataset / "point_datasets.csv")
    residuals = []
    finders = {z: ImageFinder(model.lens, distance_ratio(model.cosmology, Z_LENS, z)) for z in (2.0, 3.0)}
    for point in model.source_points:
        images = finders[point.redshift].find(point.x, point.y, min_abs_magnification=0.1)  # arrival order
        rows = observed[observed["name"] == point.name]
        assert list(rows["image"]) == [chr(ord("a") + i) for i in range(len(images))]
        residuals.append(np.column_stack([rows["x"] - images["x"].to_numpy(), rows["y"] - images["y"].to_numpy()]))
        if point.flux is None:
            assert rows["flux"].isna().all()
        else:
            true_flux = np.abs(images["magnification"].to_numpy()) * point.flux
            np.testing.assert_allclose(rows["flux_sigma"], 0.05 * true_flux)
        assert rows["time_delay"].iat[0] == 0.0
    residual = np.concatenate(residuals).ravel()
    assert residual.size > 200
    assert (observed["sigma"] == 0.02).all()
    assert abs(residual.mean()) < 4 * 0.02 / np.sqrt(residual.size)
    assert residual.std() == pytest.approx(0.02, rel=4 / np.sqrt(2 * residual.size))


# ---------------------------------------------------------------- ensure_dataset
def test_ensure_dataset_reuses_until_an_input_changes(model_folder, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(model_folder, model)
    out = tmp_path / "data"
    text = io.StringIO()
    console = Console(file=text, width=200)

    assert ensure_dataset(model, out, seed=3, console=console) == out
    assert "simulating" in text.getvalue() and "no dataset yet" in text.getvalue()
    stamp = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    before = files_of(out)

    assert ensure_dataset(model, out, seed=3, console=console) == out
    assert "reusing" in text.getvalue()
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamp

    light = (model / "source_light.csv").read_text().replace("5.0", "9.0")
    (model / "source_light.csv").write_text(light)
    assert stale_reason(model, out, 3) == "model input changed: source_light.csv"
    ensure_dataset(model, out, seed=3, console=console)
    after = files_of(out)
    assert after["source_light.csv"] == light.encode() and after["data.fits"] != before["data.fits"]
    assert stale_reason(model, out, 3) is None
    assert stale_reason(model, out, 4) == "seed 3 in the manifest, 4 asked"
    (out / "point_datasets.csv").write_text("edited")
    assert stale_reason(model, out, 3) == "output point_datasets.csv missing or modified"


# ---------------------------------------------------------------- safety
def test_foreign_folder_is_refused_unless_overwrite(model_folder, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    with pytest.raises(FileExistsError, match="notes.txt"):
        simulate(model_folder, out, seed=1)
    assert (out / "notes.txt").read_text() == "my notes"
    assert main(["simulate", str(model_folder), str(out)]) == 1
    simulate(model_folder, out, seed=1, overwrite=True)  # written beside the user's file, never deleting it
    assert (out / "notes.txt").read_text() == "my notes" and (out / "manifest.json").exists()
    simulate(model_folder, out, seed=2, overwrite=True)
    assert (out / "notes.txt").read_text() == "my notes"
    (out / "notes.txt").unlink()
    simulate(model_folder, out, seed=3)  # a clusterlens folder is replaced without overwrite


def test_interrupted_run_leaves_no_half_dataset(model_folder, dataset, tmp_path, monkeypatch):
    import clusterlens.simulation.dataset_folder

    def broken(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(clusterlens.simulation.dataset_folder, "png_bytes", broken)
    with pytest.raises(RuntimeError):
        simulate(model_folder, tmp_path / "new", seed=1)
    assert list(tmp_path.iterdir()) == []
    before = files_of(dataset)
    with pytest.raises(RuntimeError):
        simulate(model_folder, dataset, seed=9)
    assert files_of(dataset) == before
    assert [p.name for p in dataset.parent.iterdir()] == [dataset.name]


def test_missing_families_are_model_errors(tmp_path):
    no_sources = write_model(tmp_path / "lens_only", {"main_lens_mass": LENS})
    with pytest.raises(ModelError, match="no sources"):
        simulate(no_sources, tmp_path / "a")
    no_lens = write_model(tmp_path / "sources_only", {"source_light": LIGHT})
    with pytest.raises(ModelError, match="no lens"):
        simulate(no_lens, tmp_path / "b")
    assert main(["simulate", str(no_lens), str(tmp_path / "b")]) == 1
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_bad_destinations_and_seeds(model_folder, tmp_path):
    with pytest.raises(ValueError, match="must not be"):
        simulate(model_folder, model_folder)
    with pytest.raises(ValueError, match="seed"):
        simulate(model_folder, tmp_path / "x", seed=-1)
    with pytest.raises(ValueError, match="seed"):
        simulate(model_folder, tmp_path / "x", seed=1.5)


def test_an_image_larger_than_the_available_memory_is_refused_before_any_allocation(tmp_path, monkeypatch):
    """The sub-pixel arrays of [imaging] are checked against the memory available now, with the sizes."""
    monkeypatch.setattr(dataset_folder, "available_memory", lambda: 2**25)  # 32 MiB free
    model = Path(__file__).resolve().parents[1] / "datasets" / "example_cluster"
    expected = r"x oversampling 3\^2 needs ~0\.14 GiB of arrays, more than the 0\.03 GiB of memory available"
    with pytest.raises(ModelError, match=expected):
        simulate(model, tmp_path / "out", seed=0)
    assert not (tmp_path / "out").exists()
    assert dataset_folder.available_memory() is None or dataset_folder.available_memory() > 0
