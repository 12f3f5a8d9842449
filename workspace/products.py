"""Products guide: everything an astronomer takes away from the example's fit.

    python workspace/products.py [--samples 30] [--seed 0]

Reuses the fit of workspace/start_here.py (workspace/output/start_here_fit; made here with the same
settings when missing, about a minute) and writes to workspace/output/products/:
1. FITS maps on the sky (kappa, shear, deflections, potential, magnification at z = 1, 2, 9): posterior
   median in the primary HDU, 16/84 % in extensions P16/P84;
2. critical curves and caustics (curves.csv, DS9 curves_z*.reg), observed and predicted images
   (images.csv, images.reg) and the plots (magnification_z*.png, data.png);
3. the images predicted for a source, with posterior intervals (predict.csv);
4. x, y <-> RA, Dec and a catalogue imported from an RA/Dec table;
5. the enclosed mass M(<R) with its 68 % band and the effective Einstein radii.
The same from the shell: clusterlens maps / predict / mass-profile / import-catalogue (README "Products").
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
from rich.console import Console

import clusterlens
import clusterlens.fit
from clusterlens.products import fits_maps, import_catalogue, make, open_input, predict_posterior, regions_files
from clusterlens.products.predict import predictions_renderable

HERE = Path(__file__).resolve().parent
MODEL = HERE.parent / "datasets" / "example_cluster"
FIT = HERE / "output" / "start_here_fit"
OUT = HERE / "output" / "products"
REDSHIFTS = (1.0, 2.0, 9.0)
console = Console(width=120)


def fitted() -> Path:
    """The start_here fit (three free parameters, nlive 50), made when missing."""
    if (FIT / "samples.csv").exists():
        return FIT
    dataset = clusterlens.ensure_dataset(MODEL, HERE / "output" / "example_dataset", seed=2744, console=console)
    priors = [
        dict(family="host_halo", galaxy="halo", parameter="m200", prior="loguniform", lower=3e14, upper=4e15),
        dict(family="main_lens_mass", galaxy="BCG", parameter="sigma", prior="uniform", lower=200, upper=500),
        dict(family="scaling_relations", galaxy="members", parameter="sigma_ref", prior="uniform",
             lower=100, upper=250),
    ]
    return clusterlens.fit.fit(dataset, priors=priors, out=FIT, nlive=50, resume=True, overwrite=True,
                               console=console).folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30, help="posterior draws (default 30; the CLI's is 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws")
    args = parser.parse_args()
    product = open_input(fitted())
    model = product.model

    console.rule("1. FITS maps on the sky, from posterior draws")
    result = fits_maps.make_maps(product, OUT, REDSHIFTS, pixel_scale=0.4, size=150, samples=args.samples,
                                 seed=args.seed)
    console.print(f"{len(result.paths)} maps from {result.n_samples} draws in {result.seconds:.1f} s: "
                  f"{', '.join(p.name for p in result.paths.values())}")

    console.rule("2. Critical curves, caustics, images, DS9 regions, plots")
    regions = regions_files.available()
    if not regions:
        console.print(f"(no DS9 files: {regions_files.EXTRA})")
    grid = fits_maps.map_grid(model, 0.4, 150)
    curves = make.make_curves(product, grid, REDSHIFTS, OUT, regions)
    images = make.make_images(product, OUT, regions)
    plots = make.make_plots(product, grid, REDSHIFTS, curves, images, OUT)
    console.print(f"{curves.groupby(['z', 'kind'])['curve'].nunique().to_dict()} curves by (z, kind); "
                  f"{len(images)} images; plots: {', '.join(p.name for p in plots)}")

    console.rule("3. What does the posterior predict for a source? (positions, magnifications, time delays)")
    source = model.source_points[0]
    sky = model.to_sky(source.x, source.y)
    start = time.perf_counter()
    table = predict_posterior(model, product.draws(args.samples, args.seed), sky.ra.deg, sky.dec.deg,
                              source.redshift)
    table.to_csv(OUT / "predict.csv", index=False)
    console.print(predictions_renderable(table, f"{source.name} at z = {source.redshift:g} "
                                                f"({time.perf_counter() - start:.1f} s)"))

    console.rule("4. Sky coordinates and a catalogue of your own")
    console.print(f"x = 10\" West, y = 5\" North of the reference is {model.to_sky(10.0, 5.0).to_string('hmsdms')}; "
                  f"back: {tuple(round(float(v), 9) for v in model.from_sky(model.to_sky(10.0, 5.0)))}")
    members = model.scaling_galaxies[:10]
    ra, dec = model.to_sky([m.x for m in members], [m.y for m in members], skycoord=False)
    pd.DataFrame({"id": [m.galaxy for m in members], "ra": ra, "dec": dec, "mag": [m.mag for m in members]}).to_csv(
        OUT / "my_members.csv", index=False)
    copy = OUT / "model_with_my_members"
    clusterlens.save_model(model, copy, overwrite=True)
    path = import_catalogue(OUT / "my_members.csv", copy, "members", tier="members", overwrite=True)
    console.print(f"my_members.csv (id, ra, dec, mag) -> {path} ({len(clusterlens.read_family(path).rows)} rows)")

    console.rule("5. Enclosed mass and Einstein radii")
    profile, einstein = make.make_mass_profile(product, OUT, REDSHIFTS, samples=args.samples, seed=args.seed)
    at = profile.iloc[(profile["radius"] - 30.0).abs().argmin()]
    console.print(f"M(<{at['radius']:.1f}\") = {at['mass_median']:.3e} Msun "
                  f"[{at['mass_p16']:.3e}, {at['mass_p84']:.3e}]")
    for row in einstein.itertuples(index=False):
        console.print(f"effective Einstein radius at z = {row.z:g}: {row.theta_e_median:.2f}\" "
                      f"[{row.theta_e_p16:.2f}, {row.theta_e_p84:.2f}]")
    console.print(f"everything is in {OUT}")


if __name__ == "__main__":  # needed: a fit's worker processes import this file
    main()
