"""Simulate a dataset folder from a model folder, reproducibly and safely; reuse it while it is current.

A dataset folder holds::

    data.fits, noise_map.fits, psf.fits   the image [electrons/s], its noise, the PSF (sky WCS; PSF: arcsec offsets)
    point_datasets.csv                   the observed multiple images (positions, fluxes, time delays)
    true_images.csv                      the noise-free images behind them (magnification, parity, delay)
    preview.png                          the image with critical curves and the observed images
    dataset.toml, <family>.csv           byte-identical copies of the model's inputs
    manifest.json                        version, seed, settings, sha256 of every input and output

Everything is a pure function of the model's input bytes, the seed and the clusterlens version: no
wall-clock time anywhere, so the same inputs and seed give byte-identical files. Random draws come
from ``np.random.SeedSequence(seed)``: child 0 drives the imaging noise, child 1 the point noise, so
a change to a point setting leaves the image noise unchanged.

Safety: files are written to a temporary sibling folder that is renamed into place at the end (an
interrupted run leaves no half dataset), and an existing folder holding files its manifest does not
list (files clusterlens did not write) is refused unless ``overwrite=True``, which writes the dataset
beside them and replaces only the files the old manifest lists (never a whole folder).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from .. import atomic, csvio, outputs
from .._version import __version__
from ..dataset import FILENAME as DATASET_FILENAME
from ..digest import file_digests, sha256
from ..errors import ModelError, Problem
from ..families import FAMILIES
from ..maps import PixelGrid, critical_curves
from ..model import ClusterModel, load_model
from ..plot import legend_redshifts, png_bytes, preview_figure
from ..progress import steps
from ..registry import LIGHT_PROFILES
from . import fits_output, imaging, lens_light, points

MANIFEST = "manifest.json"
DATA, NOISE_MAP, PSF = "data.fits", "noise_map.fits", "psf.fits"
POINTS, TRUE_IMAGES, PREVIEW = "point_datasets.csv", "true_images.csv", "preview.png"
#: Largest side (pixels) of the grid the preview's critical curves are traced on.
PREVIEW_CURVE_PIXELS = 160
MAX_SEED = 2**63 - 1


# ---------------------------------------------------------------- in-memory simulation
@dataclass(frozen=True)
class SimulatedImage:
    """The imaging products: arrays (ny, nx) in electrons/s per pixel, and the PSF stamp.

    model_image: noise-free lensed sources and lens light after the PSF; data: sky-subtracted noisy exposure;
    noise_map: 1-sigma noise of ``data``; psf: normalised PSF stamp (sums to 1).
    """

    model_image: np.ndarray
    data: np.ndarray
    noise_map: np.ndarray
    psf: np.ndarray


def light_groups(model: ClusterModel, z_source: float | None = None) -> list[imaging.LightGroup]:
    """The model's ``source_light`` rows as one :class:`~.imaging.LightGroup` per profile.

    Intensities are read as electrons/s/arcsec^2; each source gets the D_LS/D_S of its redshift.
    With ``z_source``: only the rows at that redshift, scale 1 (for a multi-plane model's effective
    deflection toward ``z_source``).
    """
    groups = []
    for profile in LIGHT_PROFILES.values():
        rows = [r for r in model.source_light if r.profile == profile.name and z_source in (None, r.redshift)]
        if not rows:
            continue
        scale = (np.array([model.distance_ratio(r.redshift) for r in rows]) if z_source is None
                 else np.ones(len(rows)))
        groups.append(imaging.LightGroup(profile.name, profile.to_parameters(rows), scale))
    return groups


def simulate_image(model: ClusterModel, seed_sequence: np.random.SeedSequence) -> SimulatedImage:
    """Ray-trace, integrate over sub-pixels, add the lens light (:mod:`.lens_light`), convolve and add
    noise, with the dataset's [imaging] settings.

    The unscaled (D_LS/D_S = 1) deflection of every sub-pixel is computed once and rescaled per
    source redshift (exact for a single lens plane); a multi-plane model renders the sources of each
    redshift through its own ray trace (:mod:`clusterlens.multiplane`) and adds them.
    """
    settings = model.dataset.imaging
    frame = (settings.shape, settings.pixel_scale, settings.oversampling, settings.center_x, settings.center_y)
    if model.is_multiplane:
        sources = np.zeros(tuple(settings.shape))
        for z in sorted({r.redshift for r in model.source_light}):
            traced = model.lens_toward(z)[0]
            sources = sources + imaging.render_sources(traced.deflection, light_groups(model, z), *frame)
    else:
        def deflection(x, y):
            return model.lens.deflection(x, y, scale=1.0)

        sources = imaging.render_sources(deflection, light_groups(model), *frame)
    lens = lens_light.lens_light_groups(model)
    if lens:
        sources = sources + lens_light.render_lens_light(lens, settings)
    psf = imaging.gaussian_psf(settings.psf_fwhm, settings.pixel_scale, settings.psf_size)
    model_image = imaging.convolve(sources, psf)
    rng = np.random.default_rng(seed_sequence)
    data = imaging.observe(model_image, settings.background, settings.exposure_time, settings.read_noise, rng)
    noise = imaging.noise_sigma(model_image, settings.background, settings.exposure_time, settings.read_noise)
    return SimulatedImage(model_image, data, noise, psf)


def simulate_points(model: ClusterModel, seed_sequence: np.random.SeedSequence) -> tuple[pd.DataFrame, list]:
    """(true images table, observed ``point_datasets`` rows) with the dataset's [points] settings."""
    settings = model.dataset.points
    true_images = points.find_point_images(model, settings.min_abs_magnification)
    return true_images, points.observe_point_images(true_images, settings, seed_sequence)


#: float64 arrays of the sub-pixel grid the image simulation holds at once (coordinates, deflections, light)
SUBPIXEL_ARRAYS = 10


def check_simulable(model: ClusterModel) -> None:
    """Raise :class:`ModelError` unless the model has lens rows and at least one source family, and the
    image's sub-pixel arrays fit in the memory available now (checked before any allocation)."""
    where = str(model.folder) if model.folder is not None else "<model>"
    problems = []
    if model.z_lens is None:
        problems.append(Problem(where, "no lens: the simulator needs host_halo.csv or main_lens_mass.csv with at "
                                       "least one row (or scaling_galaxies.csv rows with a redshift)"))
    if not model.source_light and not model.source_points:
        problems.append(Problem(where, "no sources: the simulator needs source_light.csv (extended sources for "
                                       "the image) and/or source_point.csv (multiple images) with at least one row"))
    settings = model.dataset.imaging
    needed = SUBPIXEL_ARRAYS * 8 * settings.shape[0] * settings.shape[1] * settings.oversampling ** 2
    available = available_memory()
    if model.source_light and available is not None and needed > available:
        toml = str(model.folder / "dataset.toml") if model.folder is not None else "dataset.toml"
        problems.append(Problem(toml, f"[imaging] shape {list(settings.shape)} x oversampling "
                                      f"{settings.oversampling}^2 needs ~{needed / 2**30:.2f} GiB of arrays, more "
                                      f"than the {available / 2**30:.2f} GiB of memory available: lower the "
                                      "oversampling or the shape", column="imaging"))
    if problems:
        raise ModelError(problems)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``, else free physical pages);
    None where the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


# ---------------------------------------------------------------- files
def input_files(model_folder: Path) -> dict[str, bytes]:
    """The model's input bytes by file name: dataset.toml and every family CSV present.

    point_datasets.csv is not an input: the simulation writes its own.
    """
    names = [DATASET_FILENAME] + sorted(f.filename for f in FAMILIES.values() if f.name != "point_datasets")
    return {n: (model_folder / n).read_bytes() for n in names if (model_folder / n).is_file()}


def _settings_cards(model: ClusterModel, seed: int, content: str, unit: str | None) -> list[tuple]:
    s = model.dataset.imaging
    cards = [
        ("ORIGIN", "clusterlens", "simulated by clusterlens"),
        ("CLVERSN", __version__, "clusterlens version"),
        ("CONTENT", content, "what this image holds"),
    ]
    if unit:
        cards.append(("BUNIT", unit, "pixel unit"))
    if model.dataset.name:
        # FITS headers hold printable ASCII: other characters as \xNN / \uNNNN escapes
        cards.append(("OBJECT", model.dataset.name.encode("ascii", "backslashreplace").decode("ascii"),
                      "dataset name"))
    return cards + [
        ("PIXSCALE", s.pixel_scale, "[arcsec/pixel] pixel scale"),
        ("CENTERX", s.center_x, "[arcsec] x of the image centre (West +)"),
        ("CENTERY", s.center_y, "[arcsec] y of the image centre (North +)"),
        ("EXPTIME", s.exposure_time, "[s] exposure time"),
        ("SKYLEVEL", s.background, "[electron/s/pixel] sky background"),
        ("SKYSUB", True, "sky background subtracted from the data"),
        ("RDNOISE", s.read_noise, "[electron/pixel] read noise"),
        ("PSFFWHM", s.psf_fwhm, "[arcsec] Gaussian PSF FWHM"),
        ("PSFSIZE", s.psf_size, "[pixel] PSF stamp side"),
        ("OVERSAMP", s.oversampling, "ray-traced sub-pixels per pixel side"),
        ("SEED", seed, "simulation seed"),
    ]


def preview_png(model: ClusterModel, image: SimulatedImage, observed: list) -> bytes:
    """The preview: the image, critical curves of every source redshift and the observed images.

    The view covers the image and every observed image (some may fall outside the imaged field);
    critical curves are traced on a grid of at most PREVIEW_CURVE_PIXELS per side over that view, for at
    most five source redshifts (:func:`clusterlens.plot.legend_redshifts`).
    """

    s = model.dataset.imaging
    ny, nx = s.shape
    half_x, half_y = nx * s.pixel_scale / 2, ny * s.pixel_scale / 2
    extent = (s.center_x - half_x, s.center_x + half_x, s.center_y - half_y, s.center_y + half_y)
    table = pd.DataFrame([{"name": r.name, "image": r.image, "x": r.x, "y": r.y} for r in observed],
                         columns=["name", "image", "x", "y"])
    view = extent
    if len(table):
        margin = 0.05 * max(extent[1] - extent[0], extent[3] - extent[2])
        view = (min(extent[0], table["x"].min() - margin), max(extent[1], table["x"].max() + margin),
                min(extent[2], table["y"].min() - margin), max(extent[3], table["y"].max() + margin))
    step = max(s.pixel_scale, max(view[1] - view[0], view[3] - view[2]) / PREVIEW_CURVE_PIXELS)
    grid = PixelGrid.covering(view, step)
    redshifts = legend_redshifts([r.redshift for r in model.source_light] + [r.redshift for r in model.source_points])
    curves = {}
    for z in redshifts:
        lens, scale = model.lens_toward(z)
        curves[f"z = {z:g}"] = critical_curves(lens, grid, scale, polish=False)
    title = f"{model.dataset.name or 'simulated dataset'}: asinh stretch, sky-subtracted [electrons/s]"
    softening = float(np.median(image.noise_map)) or 1.0
    return png_bytes(preview_figure(image.data, extent, softening, curves, table, title=title, view=view))


def dataset_files(model: ClusterModel, inputs: dict[str, bytes], seed: int,
                  progress: bool = True) -> dict[str, bytes]:
    """Every file of the dataset folder (manifest last) as bytes, by name: the whole simulation (its steps
    drawn as a progress line on a terminal unless not ``progress``)."""
    seed = check_seed(seed)
    check_simulable(model)
    imaging_seed, points_seed = np.random.SeedSequence(seed).spawn(2)
    with steps("simulating", 3, show=progress) as begin:
        begin("ray-tracing the image")
        image = simulate_image(model, imaging_seed)
        begin("finding the multiple images")
        true_images, observed = simulate_points(model, points_seed)
        begin("critical curves for preview.png")
        preview = preview_png(model, image, observed)

    s = model.dataset.imaging
    wcs = fits_output.celestial_wcs(model.reference, s.shape, s.pixel_scale, s.center_x, s.center_y)
    psf_wcs = fits_output.offset_wcs(image.psf.shape, s.pixel_scale)
    files = dict(inputs)
    files[DATA] = fits_output.fits_bytes(image.data, wcs, _settings_cards(model, seed, "data", "electron/s"))
    files[NOISE_MAP] = fits_output.fits_bytes(image.noise_map, wcs,
                                              _settings_cards(model, seed, "noise_map (1 sigma)", "electron/s"))
    files[PSF] = fits_output.fits_bytes(image.psf, psf_wcs, _settings_cards(model, seed, "psf (sum 1)", None))
    files[POINTS] = csvio.family_text(FAMILIES["point_datasets"], observed).encode()
    files[TRUE_IMAGES] = csvio.frame_text(true_images[points.TRUE_COLUMNS]).encode()
    files[PREVIEW] = preview
    manifest = {
        "clusterlens_version": __version__,
        "seed": seed,
        "imaging": model.dataset.imaging.model_dump(mode="json"),
        "points": model.dataset.points.model_dump(mode="json"),
        **({"lens_light": model.dataset.lens_light.model_dump(mode="json")} if model.dataset.lens_light else {}),
        "inputs": file_digests(inputs),
        "outputs": file_digests(files),
    }
    files[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer from 0 to 2**63 - 1, got {seed!r}")
    return int(seed)


# ---------------------------------------------------------------- folders
def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest.json, or None when it is missing or unreadable."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and isinstance(manifest.get("outputs"), dict) else None


def foreign_entries(folder: Path) -> list[str]:
    """Names in ``folder`` that its manifest does not list (files clusterlens did not write)."""
    folder = Path(folder)
    if not folder.exists():
        return []
    if not folder.is_dir():
        return [folder.name]
    manifest = read_manifest(folder) or {"outputs": {}}
    known = set(manifest["outputs"]) | {MANIFEST}
    return sorted(p.name for p in folder.iterdir() if p.name not in known or not p.is_file())


def _check_folders(model_folder: Path, out: Path) -> None:
    model_folder, out = model_folder.resolve(), out.resolve()
    if out == model_folder or out in model_folder.parents:
        raise ValueError(f"the dataset folder {out} must not be (or contain) the model folder {model_folder}")


def _check_destination(out: Path, overwrite: bool) -> None:
    if out.is_symlink():
        raise ValueError(f"{out} is a symbolic link: clusterlens writes only into real folders (give its target)")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} exists and is not a folder: expected a dataset folder path")
    foreign = foreign_entries(out)
    if foreign and not overwrite:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise FileExistsError(f"{out} holds files clusterlens did not write ({shown}); choose another folder "
                              "or pass overwrite=True (CLI: --overwrite) to write the dataset beside them")


def _write_folder(out: Path, files: dict[str, bytes], overwrite: bool) -> None:
    """Write ``files`` into a temporary sibling of ``out``, then swap it into place
    (:func:`clusterlens.atomic.replaced_folder`); the destination is checked again just before. When
    ``out`` holds files clusterlens did not write (``overwrite``), they stay: the files are written beside
    them (:func:`clusterlens.outputs.publish`) and only the files the old manifest lists are replaced; a
    foreign file with the name of an output is refused."""
    if not foreign_entries(out):
        with atomic.replaced_folder(out) as tmp:
            atomic.write_files(tmp, files)
            _check_destination(out, overwrite)
        return
    _check_destination(out, overwrite)
    clash = sorted(set(files) & set(foreign_entries(out)))
    if clash:
        raise FileExistsError(f"{out}: {', '.join(clash)} would replace files clusterlens did not write: move "
                              "them or choose another folder")
    entries = {p.name for p in out.iterdir() if p.is_file() and not p.is_symlink()}  # one name each: inside out
    previous = [name for name in [*(read_manifest(out) or {"outputs": {}})["outputs"], MANIFEST] if name in entries]
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.new-") as tmp:
        atomic.write_files(tmp, files)
        outputs.publish(Path(tmp), out, previous)


def simulate(model_folder, out_folder, *, seed: int = 0, overwrite: bool = False, progress: bool = True) -> Path:
    """Simulate the dataset of the model in ``model_folder`` into ``out_folder``; return its path.

    seed: integer 0 ... 2**63-1 driving every random draw; overwrite: replace a folder that holds
    files clusterlens did not write; progress: a progress line of the steps on a terminal (never in a
    pipe, a file or under CI). Raises ModelError for an invalid or incomplete model,
    FileExistsError for a foreign folder.
    """
    model_folder, out = Path(model_folder), Path(out_folder)
    seed = check_seed(seed)
    _check_folders(model_folder, out)
    _check_destination(out, overwrite)
    inputs = input_files(model_folder) if model_folder.is_dir() else {}
    model = load_model(model_folder)
    if input_files(model_folder) != inputs:
        raise RuntimeError(f"{model_folder} changed while it was being read; run the simulation again")
    _write_folder(out, dataset_files(model, inputs, seed, progress), overwrite)
    return out


def stale_reason(model_folder, dataset_folder, seed: int) -> str | None:
    """Why ``dataset_folder`` does not hold the current simulation of ``model_folder`` with ``seed``,
    or None when it does (same version, seed, input bytes and untouched outputs)."""
    model_folder, folder = Path(model_folder), Path(dataset_folder)
    if not folder.exists():
        return "no dataset yet"
    manifest = read_manifest(folder)
    if manifest is None:
        return f"no readable {MANIFEST}"
    if manifest.get("clusterlens_version") != __version__:
        return f"made by clusterlens {manifest.get('clusterlens_version')}, this is {__version__}"
    if manifest.get("seed") != seed:
        return f"seed {manifest.get('seed')} in the manifest, {seed} asked"
    current = file_digests(input_files(model_folder))
    recorded = manifest.get("inputs", {})
    changed = sorted(n for n in set(current) | set(recorded) if current.get(n) != recorded.get(n))
    if changed:
        return f"model input changed: {', '.join(changed)}"
    for name, digest in sorted(manifest["outputs"].items()):
        path = folder / name
        if not path.is_file() or sha256(path.read_bytes()) != digest:
            return f"output {name} missing or modified"
    return None


def ensure_dataset(model_folder, dataset_folder, *, seed: int = 0, overwrite: bool = False,
                   console: Console | None = None) -> Path:
    """Return ``dataset_folder``, simulating it first when it is missing or stale (:func:`stale_reason`).

    Prints what it did. ``overwrite`` as in :func:`simulate`.
    """
    console = console or Console()
    seed = check_seed(seed)
    folder = Path(dataset_folder)
    reason = stale_reason(model_folder, folder, seed) if Path(model_folder).is_dir() else "model folder missing"
    if reason is None:
        console.print(f"[green]reusing[/green] {folder}: manifest matches the model inputs and seed {seed}")
        return folder
    console.print(f"[yellow]simulating[/yellow] {folder} from {model_folder} (seed {seed}): {reason}")
    simulate(model_folder, folder, seed=seed, overwrite=overwrite)
    console.print(f"[green]wrote[/green] {folder}")
    return folder


def summary_table(dataset_folder) -> Table:
    """A rich table of a dataset folder: per point source its redshift, images and magnifications."""
    folder = Path(dataset_folder)
    true_images = pd.read_csv(folder / TRUE_IMAGES, keep_default_na=True)
    table = Table(title=f"{folder.name}: simulated multiple images")
    for column in ("source", "z", "images", "magnifications (signed)", "max time delay \\[days]"):
        table.add_column(column, justify="left" if column == "source" else "right")
    for name, group in true_images.groupby("name", sort=False):
        mags = ", ".join(f"{m:.2f}" for m in group["magnification"])
        delay = group["time_delay"].max()
        table.add_row(str(name), f"{group['redshift'].iat[0]:g}", str(len(group)), mags,
                      f"{delay:.1f}" if np.isfinite(delay) else "")
    return table
