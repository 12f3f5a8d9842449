"""The training-set store ``simulate-many`` writes: Zarr arrays, Parquet tables, a manifest.

Layout of the output folder::

    run.json          what the run makes (version, base seed, n, outputs, image shape, input digests)
    arrays.zarr/      images, noise_maps[, kappa, magnification]: (n, ny, nx) float32, one chunk per
                      realisation; done: (n,) bool, one chunk per realisation, written last
    parts/            labels-<i>.parquet and points-<i>.parquet of each committed realisation (until the end)
    labels.parquet    one row per realisation: every drawn parameter and derived label (written at the end)
    points.parquet    the point catalogue of every realisation (written at the end)
    manifest.json     version, seed, n, input digests, sha256 of every output file (written last)

A realisation is committed when ``done[i]`` is written, after its arrays and parts: an interrupted run
leaves only whole realisations committed, and running again makes exactly the others (every file is
replaced atomically: Zarr's local store writes through a temporary file, the parts through
:mod:`clusterlens.atomic`). pyarrow and zarr are imported here only (``pip install "clusterlens[ml]"``).
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import atomic
from .._version import __version__
from ..digest import sha256
from .simulate_one import POINT_COLUMNS, Realisation

RUN, MANIFEST, LABELS, POINTS = "run.json", "manifest.json", "labels.parquet", "points.parquet"
ARRAYS, PARTS, DONE = "arrays.zarr", "parts", "done"
ML_EXTRA = 'pip install "clusterlens[ml]"'


def _zarr():
    try:
        import zarr
    except ImportError:
        raise RuntimeError(f"the training-set store needs zarr: {ML_EXTRA}") from None
    return zarr


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as Parquet bytes (pyarrow; no index), the same bytes for the same frame."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeError(f"the training-set labels need pyarrow: {ML_EXTRA}") from None
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


def read_parquet(path) -> pd.DataFrame:
    """A Parquet table of the store as a DataFrame (needs pyarrow)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeError(f"reading the training-set tables needs pyarrow: {ML_EXTRA}") from None
    return pq.read_table(path).to_pandas()


class Store:
    """An output folder being filled (module docstring); ``open`` creates it or checks it resumes the same run."""

    def __init__(self, folder: Path, run: Mapping[str, Any]):
        self.folder = Path(folder)
        self.run = dict(run)
        self.n = int(run["n"])

    @classmethod
    def open(cls, folder, run: Mapping[str, Any], shape: tuple[int, int]) -> Store:
        folder = Path(folder)
        path = folder / RUN
        text = json.dumps(run, indent=2, sort_keys=True) + "\n"
        if path.exists():
            if path.read_text(encoding="utf-8") != text:
                raise FileExistsError(f"{folder} holds another run (its {RUN} differs: other model inputs, seed, n "
                                      "or outputs); choose another folder or remove it")
        elif folder.exists() and any(folder.iterdir()):
            raise FileExistsError(f"{folder} exists and is not a simulate-many store; choose another folder")
        store = cls(folder, run)
        zarr = _zarr()
        group = zarr.open_group(str(folder / ARRAYS), mode="a")
        ny, nx = shape
        for name in run["arrays"]:
            if name not in group:
                group.create_array(name, shape=(store.n, ny, nx), chunks=(1, ny, nx), dtype="float32",
                                   fill_value=np.nan)
        if DONE not in group:
            group.create_array(DONE, shape=(store.n,), chunks=(1,), dtype="bool", fill_value=False)
        if not path.exists():
            atomic.write_text(path, text)
        return store

    def _group(self):
        return _zarr().open_group(str(self.folder / ARRAYS), mode="a")

    def pending(self) -> list[int]:
        """Realisations not yet committed, in order."""
        return [int(i) for i in np.flatnonzero(~self._group()[DONE][:])]

    def commit(self, realisation: Realisation) -> None:
        """Write one realisation: its arrays, its label and point parts, then its done marker."""
        group = self._group()
        i = realisation.index
        for name, array in realisation.arrays.items():
            group[name][i] = array
        labels = pd.DataFrame([realisation.labels])
        atomic.write_files(self.folder / PARTS, {f"labels-{i:09d}.parquet": parquet_bytes(labels),
                                                 f"points-{i:09d}.parquet": parquet_bytes(realisation.points)})
        group[DONE][i] = True

    @property
    def finished(self) -> bool:
        """Whether the manifest is written (the parts may remain if a run stopped just after it)."""
        return (self.folder / MANIFEST).is_file()

    def finish(self) -> None:
        """Gather the parts into labels.parquet and points.parquet, write the manifest, remove the parts."""
        parts = self.folder / PARTS
        if self.finished:
            shutil.rmtree(parts, ignore_errors=True)
            return
        labels = pd.concat([read_parquet(parts / f"labels-{i:09d}.parquet") for i in range(self.n)],
                           ignore_index=True)
        points = [read_parquet(parts / f"points-{i:09d}.parquet") for i in range(self.n)]
        points_frame = pd.concat(points, ignore_index=True) if points else pd.DataFrame(columns=POINT_COLUMNS)
        atomic.write_files(self.folder, {LABELS: parquet_bytes(labels), POINTS: parquet_bytes(points_frame)})
        outputs = {str(p.relative_to(self.folder)): sha256(p.read_bytes())
                   for p in sorted(self.folder.rglob("*")) if p.is_file() and PARTS not in p.parts
                   and p.name not in (MANIFEST,)}
        manifest = {"clusterlens_version": __version__, **self.run, "outputs": outputs}
        atomic.write_text(self.folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        shutil.rmtree(parts)


def run_description(population, n: int, inputs: Mapping[str, bytes], arrays: tuple[str, ...]) -> dict[str, Any]:
    """The run.json content: what a resumed run must match."""
    return {"clusterlens_version": __version__, "seed": population.settings.seed, "n": n,
            "outputs": list(population.settings.outputs), "arrays": list(arrays),
            "shape": list(population.model.dataset.imaging.shape),
            "reference_redshift": population.settings.reference_redshift,
            "inputs": {name: sha256(data) for name, data in sorted(inputs.items())}}
