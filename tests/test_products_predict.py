"""Predictions, sky coordinates, catalogue import and the product commands on the tiny simulated cluster."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table

import clusterlens
from clusterlens.cli import main
from clusterlens.errors import ModelError
from clusterlens.products import import_catalogue, open_input, predict_images, predict_posterior
from clusterlens.products.sky import parse_sky_redshift


@pytest.fixture
def data(products_inputs):
    return products_inputs


def test_predicted_images_of_the_true_sources_reproduce_the_simulated_images(data):
    dataset, _ = data
    model = clusterlens.load_model(dataset)
    true = pd.read_csv(dataset / "true_images.csv")
    observed = pd.read_csv(dataset / "point_datasets.csv")
    for row in model.source_points:
        sky = model.to_sky(row.x, row.y)
        found = predict_images(model, sky.ra.deg, sky.dec.deg, row.redshift)
        expected = true[true["name"] == row.name].sort_values("time_delay")
        seen = observed[observed["name"] == row.name]
        assert len(found) == len(expected) == len(seen) > 1
        np.testing.assert_allclose(found[["x", "y"]], expected[["x", "y"]], atol=1e-6)
        np.testing.assert_allclose(found["magnification"], expected["magnification"], rtol=1e-5)
        np.testing.assert_array_equal(found["parity"], expected["parity"])
        np.testing.assert_allclose(found["time_delay"], expected["time_delay"], rtol=1e-6, atol=1e-6)
        assert found["time_delay"].iloc[0] == 0.0
        # the observed (noisy) positions lie within 5 sigma of a predicted image
        offsets = np.hypot(seen["x"].to_numpy()[:, None] - found["x"].to_numpy()[None],
                           seen["y"].to_numpy()[:, None] - found["y"].to_numpy()[None]).min(axis=1)
        assert np.all(offsets < 5 * seen["sigma"].to_numpy())
        np.testing.assert_allclose(SkyCoord(found["ra"], found["dec"], unit="deg").separation(
            model.to_sky(found["x"], found["y"])).arcsec, 0.0, atol=1e-9)
        # "where are the counter-images of this one?": the same images from any one of them
        image = found.iloc[-1]
        again = predict_images(model, image["ra"], image["dec"], row.redshift, given="image")
        np.testing.assert_allclose(again[["x", "y"]], found[["x", "y"]], atol=1e-5)


def test_posterior_predictions_match_images_across_draws(data):
    dataset, results = data
    product = open_input(results)
    row = product.model.source_points[0]
    sky = product.model.to_sky(row.x, row.y)
    reference = predict_images(product.model, sky.ra.deg, sky.dec.deg, row.redshift)
    table = predict_posterior(product.model, product.draws(4, 0), sky.ra.deg, sky.dec.deg, row.redshift)
    assert list(table["image"]) == list(reference["image"]) and set(table["n_samples"]) == {4}
    assert np.all(table["matched"] == 4)
    for name in ("x", "y", "magnification", "time_delay"):
        assert np.all(table[f"{name}_p16"] <= table[name]) and np.all(table[name] <= table[f"{name}_p84"])
    np.testing.assert_allclose(table[["x", "y"]], reference[["x", "y"]], atol=0.5)  # 2 % parameter scatter
    assert np.all(table["time_delay"].iloc[:1] == 0.0)


def test_to_sky_and_from_sky_round_trip_with_skycoord_and_degrees(data):
    model = clusterlens.load_model(data[0])
    x, y = np.array([0.0, 12.5, -30.0]), np.array([0.0, -7.0, 22.0])
    sky = model.to_sky(x, y)
    assert isinstance(sky, SkyCoord)
    assert sky.ra.deg[1] < model.reference[0]  # West (x > 0) is lower RA
    np.testing.assert_allclose(model.from_sky(sky), (x, y), atol=1e-9)
    ra, dec = model.to_sky(x, y, skycoord=False)
    np.testing.assert_allclose(model.from_sky(ra, dec), (x, y), atol=1e-9)
    np.testing.assert_allclose(model.from_sky(sky.galactic), (x, y), atol=1e-7)
    import astropy.units as u

    np.testing.assert_allclose(model.from_sky(ra * u.deg, (dec * u.deg).to(u.arcmin)), (x, y), atol=1e-9)


def test_import_catalogue_csv_and_fits_into_family_files(data, tmp_path):
    model = clusterlens.load_model(data[0])
    folder = tmp_path / "model"
    clusterlens.save_model(model, folder)
    members = model.scaling_galaxies[:5]
    ra, dec = model.to_sky([m.x for m in members], [m.y for m in members], skycoord=False)
    Table({"ID": [m.galaxy for m in members], "RA": ra, "Dec": dec, "mag": [m.mag for m in members]}).write(
        tmp_path / "members.fits")
    path = import_catalogue(tmp_path / "members.fits", folder, "members", tier="members", overwrite=True)
    rows = clusterlens.read_family(path).rows
    np.testing.assert_allclose([(r.x, r.y) for r in rows], [(m.x, m.y) for m in members], atol=2e-6)
    assert [r.galaxy for r in rows] == [m.galaxy for m in members]
    true = pd.read_csv(data[0] / "true_images.csv")
    ra, dec = model.to_sky(true["x"], true["y"], skycoord=False)
    pd.DataFrame({"id": true["name"] + "." + true["image"], "ra": ra, "dec": dec}).to_csv(tmp_path / "im.csv",
                                                                                       index=False)
    assert main(["import-catalogue", str(tmp_path / "im.csv"), "--into", str(folder), "--as", "images",
                 "--sigma", "0.1", "--overwrite"]) == 0
    imported = clusterlens.load_model(folder).point_datasets
    assert [(r.name, r.image) for r in imported] == list(zip(true["name"], true["image"], strict=True))
    np.testing.assert_allclose([(r.x, r.y) for r in imported], true[["x", "y"]], atol=2e-6)
    (tmp_path / "bad.csv").write_text("id,ra,dec,mag\ng1,150.1,2.2,19\ng2,oops,2.2,20\n")
    with pytest.raises(ModelError, match="bad.csv:3: column 'ra' value 'oops': expected a number"):
        import_catalogue(tmp_path / "bad.csv", folder, "members")
    with pytest.raises(FileExistsError):
        import_catalogue(tmp_path / "members.fits", folder, "members")


def test_product_commands(data, tmp_path, capsys):
    dataset, results = data
    out = tmp_path / "maps"
    assert main(["maps", str(dataset), "--out", str(out), "--size", "16", "--pixel-scale", "4", "--z", "2"]) == 0
    assert {"kappa.fits", "magnification_z2.fits", "curves.csv", "images.csv", "magnification_z2.png",
            "data.png"} <= {p.name for p in out.iterdir()}
    model = clusterlens.load_model(dataset)
    row = model.source_points[1]
    sky = model.to_sky(row.x, row.y)
    assert main(["predict", str(results), "--source", f"{sky.ra.deg},{sky.dec.deg},{row.redshift}",
                 "--samples", "3", "--out", str(tmp_path / "p.csv")]) == 0
    assert "images of the source at RA" in capsys.readouterr().out
    assert set(pd.read_csv(tmp_path / "p.csv")["n_samples"]) == {3}
    assert main(["mass-profile", str(results), "--out", str(tmp_path / "mass"), "--samples", "3",
                 "--radii", "5", "--z", "2"]) == 0
    profile = pd.read_csv(tmp_path / "mass" / "mass_profile.csv")
    assert len(profile) == 5 and np.all(np.diff(profile["mass"]) > 0)
    assert np.all(profile["mass_p16"] <= profile["mass_median"])
    assert main(["predict", str(dataset), "--source", "150.1,2.2"]) == 1
    assert "expected RA,DEC,Z" in capsys.readouterr().err
    assert main(["predict", str(dataset), "--image", "150.1,2.2,0.1"]) == 1
    assert "must exceed the lens redshift" in capsys.readouterr().err


def test_sky_positions_on_the_command_line_in_degrees_or_sexagesimal():
    ra, dec, z = parse_sky_redshift("04:16:08.6,-24:04:10,2", "--source")
    assert (ra, dec, z) == (pytest.approx(64.0358333333, abs=1e-9), pytest.approx(-24.0694444444, abs=1e-9), 2.0)
    assert parse_sky_redshift("64.0381,-24.0675,2.5", "--source") == (64.0381, -24.0675, 2.5)
    with pytest.raises(ValueError, match="--image: cannot read"):
        parse_sky_redshift("04:16:08.6,-24:04:1x,2", "--image")
