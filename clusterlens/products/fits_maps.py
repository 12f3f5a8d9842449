"""Lens maps as FITS files on the sky, from one model or from posterior draws.

Every map is evaluated at the sky position of each pixel centre (:mod:`.sky`: the TAN WCS of
``data.fits``, North up, East left). Files written by :func:`make_maps` (one map a file, float64):

- ``kappa.fits``, ``gamma1.fits``, ``gamma2.fits``, ``gamma.fits``: convergence and shear
  (gamma1 = (psi_xx - psi_yy)/2, gamma2 = psi_xy, gamma = |gamma|) for D_LS/D_S = 1, the Hubble
  Frontier Fields convention (header ``DLSDS = 1``): multiply by D_LS/D_S for a source redshift;
- ``deflect_x.fits``, ``deflect_y.fits`` [arcsec], ``psi.fits`` [arcsec^2]: deflection and lensing
  potential, also at D_LS/D_S = 1 (x positive to the West, as the model's x; psi is each profile's
  potential, 0 at its centre, so defined up to a constant);
- ``magnification_z<z>.fits``: signed magnification 1 / det A, A = I - (D_LS/D_S) Hessian(psi)
  (Narayan & Bartelmann 1996, arXiv:astro-ph/9606001), for each requested source redshift.

From a fit's results folder each file holds the posterior median in the primary HDU and the 16th and
84th percentiles in image extensions ``P16`` and ``P84`` (same WCS), with ``NSAMPLES`` and ``SEED``
in every header; the draws are :meth:`.posterior.ProductInput.draws`. Each draw builds its lens once
and evaluates deflections, Hessian and potential in one vectorised pass over all pixels
(:meth:`clusterlens.lens.Lens.deflection_hessian_and_potential`):
every map, magnifications at all redshifts included, follows from those (the Hessian scales with
D_LS/D_S for a single lens plane). Headers hold no date, so the same input and seed give the same bytes.
"""
from __future__ import annotations

import io
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import atomic
from .._version import __version__
from ..model import ClusterModel
from .map_grid import SkyGrid, sky_grid
from .posterior import DEFAULT_SAMPLES, ProductInput, open_input
from .sky import from_sky

#: the maps at D_LS/D_S = 1: name -> (BUNIT, what it holds)
FIXED_MAPS = {
    "kappa": ("", "convergence kappa at D_LS/D_S = 1"),
    "gamma1": ("", "shear gamma1 = (psi_xx - psi_yy)/2 at D_LS/D_S = 1"),
    "gamma2": ("", "shear gamma2 = psi_xy at D_LS/D_S = 1"),
    "gamma": ("", "shear modulus |gamma| at D_LS/D_S = 1"),
    "deflect_x": ("arcsec", "deflection alpha_x (West +) at D_LS/D_S = 1"),
    "deflect_y": ("arcsec", "deflection alpha_y (North +) at D_LS/D_S = 1"),
    "psi": ("arcsec2", "lensing potential at D_LS/D_S = 1"),
}
DEFAULT_REDSHIFTS = (1.0, 2.0, 9.0)
DEFAULT_PIXEL_SCALE = 0.2
DEFAULT_SIZE = 200


def magnification_name(z: float) -> str:
    """File stem of the magnification map at source redshift ``z``."""
    return f"magnification_z{float(z):g}"


def check_redshifts(model: ClusterModel, redshifts: Iterable[float]) -> tuple[float, ...]:
    """The requested source redshifts as floats, each behind the lens (ValueError otherwise)."""
    zs = tuple(float(z) for z in redshifts)
    if model.z_lens is None:
        raise ValueError("the model has no lens rows, so no maps")
    bad = [z for z in zs if not (np.isfinite(z) and z > model.z_lens)]
    if bad:
        raise ValueError(f"source redshifts must exceed the lens redshift {model.z_lens}, got {bad}")
    return zs


def lens_maps(model: ClusterModel, x, y, redshifts: Sequence[float], potential: bool = True) -> dict[str, np.ndarray]:
    """Every map of the module docstring at model offsets x, y [arcsec] (arrays of one shape), by name;
    ``potential=False`` leaves out psi (with the compiled dPIE kernels psi comes in the same pass as the
    deflection and Hessian, for ~1.3x its cost; the numpy path takes a second pass, ~3x dearer)."""
    lens = model.lens
    if potential:
        ax, ay, hxx, hxy, hyy, psi = lens.deflection_hessian_and_potential(x, y, scale=1.0)
    else:
        ax, ay, hxx, hxy, hyy = lens.deflection_and_hessian(x, y, scale=1.0)
    g1, g2 = 0.5 * (hxx - hyy), hxy
    maps = {"kappa": 0.5 * (hxx + hyy), "gamma1": g1, "gamma2": g2, "gamma": np.hypot(g1, g2),
            "deflect_x": ax, "deflect_y": ay}
    if potential:
        maps["psi"] = psi
    for z in redshifts:
        s = model.distance_ratio(z)
        with np.errstate(divide="ignore"):
            maps[magnification_name(z)] = 1.0 / ((1.0 - s * hxx) * (1.0 - s * hyy) - (s * hxy) ** 2)
    return maps


def posterior_stack(models: Iterable[ClusterModel], n_models: int, grid: SkyGrid, redshifts: Sequence[float],
                    potential: bool = True) -> dict[str, np.ndarray]:
    """Every map of each of the ``n_models`` models, stacked: name -> array (n_models, ny, nx). Each stack
    is allocated once and filled draw by draw (no per-draw maps kept, no copy)."""
    stacks: dict[str, np.ndarray] = {}
    count = 0
    for model in models:
        if count == n_models:
            raise ValueError(f"more than the {n_models} models announced")
        for name, values in lens_maps(model, grid.x, grid.y, redshifts, potential).items():
            if name not in stacks:
                stacks[name] = np.empty((n_models, *values.shape))
            stacks[name][count] = values
        count += 1
    if count != n_models:
        raise ValueError(f"{count} models given, {n_models} announced")
    return stacks


def summarise(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(median, 16th, 84th percentile) over the first axis (numpy's median; linear quantiles)."""
    p16, p84 = np.quantile(stack, [0.16, 0.84], axis=0)
    return np.median(stack, axis=0), p16, p84


def _cards(model: ClusterModel, name: str, redshift: float | None) -> list[tuple[str, object, str]]:
    if redshift is None:
        unit, content = FIXED_MAPS[name]
    else:
        unit, content = "", f"signed magnification 1/det A for a source at z = {redshift:g}"
    cards: list[tuple[str, object, str]] = [
        ("ORIGIN", "clusterlens", "lens model map"), ("CLVERSN", __version__, "clusterlens version"),
        ("CONTENT", name, content[:46]), ("BUNIT", unit, "pixel unit"), ("ZLENS", model.z_lens, "lens redshift")]
    if redshift is None:
        cards.append(("DLSDS", 1.0, "D_LS/D_S of this map (HFF convention)"))
    else:
        cards += [("ZSOURCE", redshift, "source redshift"),
                  ("DLSDS", model.distance_ratio(redshift), "D_LS/D_S of the source redshift")]
    if model.dataset.name:
        cards.append(("OBJECT", model.dataset.name, "dataset name"))
    return cards


def fits_file(images: Sequence[tuple[str, np.ndarray]], grid: SkyGrid,
              cards: Sequence[tuple[str, object, str]]) -> bytes:
    """FITS bytes: the first (name, image) in the primary HDU, the others as named image extensions,
    every HDU with the WCS and ``cards`` (``STAT`` = the image's name)."""
    from astropy.io import fits

    hdus = []
    for i, (stat, data) in enumerate(images):
        header = grid.wcs.to_header()
        for key, value, comment in cards:
            header[key] = (value, comment)
        header["STAT"] = (stat, "median / 16th / 84th percentile, or value")
        array = np.ascontiguousarray(data, dtype=np.float64)
        hdus.append(fits.PrimaryHDU(array, header=header) if i == 0 else fits.ImageHDU(array, header=header,
                                                                                        name=stat.upper()))
    buffer = io.BytesIO()
    fits.HDUList(hdus).writeto(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class MapsResult:
    """What :func:`make_maps` wrote: ``paths`` by map name, the draws used (0 for one model), seconds taken."""

    paths: dict[str, Path]
    n_samples: int
    seconds: float


def map_grid(model: ClusterModel, pixel_scale: float = DEFAULT_PIXEL_SCALE, size: int = DEFAULT_SIZE,
             center: tuple[float, float] | None = None) -> SkyGrid:
    """The pixels of the maps: ``center`` (RA, Dec) [deg], by default the centre of the dataset's
    image ([imaging] center_x, center_y of dataset.toml), so the maps share data.fits' WCS reference."""
    if center is None:
        cx, cy = model.dataset.imaging.center_x, model.dataset.imaging.center_y
    else:
        cx, cy = (float(v) for v in from_sky(*center, reference=model.reference))
    return sky_grid(model.reference, size, pixel_scale, cx, cy)


def make_maps(source: str | os.PathLike | ProductInput, out: str | os.PathLike,
              redshifts: Sequence[float] = DEFAULT_REDSHIFTS, *, pixel_scale: float = DEFAULT_PIXEL_SCALE,
              size: int = DEFAULT_SIZE, center: tuple[float, float] | None = None,
              samples: int = DEFAULT_SAMPLES, seed: int = 0, potential: bool = True) -> MapsResult:
    """Write the FITS maps (module docstring) of a model folder or a results folder into ``out``.

    redshifts: source redshifts of the magnification maps; pixel_scale [arcsec], size [pixels a side],
    center (RA, Dec) [deg]: the grid (:func:`map_grid`); samples, seed: posterior draws of a results folder;
    potential: also psi.fits."""
    start = time.perf_counter()
    product = source if isinstance(source, ProductInput) else open_input(source)
    model = product.model
    zs = check_redshifts(model, redshifts)
    grid = map_grid(model, pixel_scale, size, center)
    files: dict[str, bytes] = {}
    n = 0
    if product.is_posterior:
        index = product.draw_indices(samples, seed)
        n = len(index)
        stacks = posterior_stack(product.draws(samples, seed), n, grid, zs, potential)
        extra: list[tuple[str, object, str]] = [("NSAMPLES", n, "posterior samples summarised"),
                                                ("SEED", int(seed), "seed of the draw")]
        for name, stack in stacks.items():
            median, p16, p84 = summarise(stack)
            z = None if name in FIXED_MAPS else zs[list(map(magnification_name, zs)).index(name)]
            files[f"{name}.fits"] = fits_file([("median", median), ("p16", p16), ("p84", p84)], grid,
                                              _cards(model, name, z) + extra)
    else:
        for name, values in lens_maps(model, grid.x, grid.y, zs, potential).items():
            z = None if name in FIXED_MAPS else zs[list(map(magnification_name, zs)).index(name)]
            files[f"{name}.fits"] = fits_file([("value", values)], grid, _cards(model, name, z))
    folder = atomic.write_files(out, files)
    paths = {name.removesuffix(".fits"): folder / name for name in files}
    return MapsResult(paths, n, time.perf_counter() - start)
