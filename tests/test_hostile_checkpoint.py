"""No code from data: only checkpoints signed with this user's key are unpickled; anything else is
refused with one line, nothing is run and the results folder is left as it was."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from clusterlens.cli import main
from clusterlens.fit import fit
from clusterlens.fit.checkpoint_signing import (
    KEY_ENV,
    MAGIC,
    UntrustedCheckpoint,
    load_checkpoint,
    signed,
    user_key,
    verified,
)
from clusterlens.fit.nautilus_sampler import NautilusSettings, sample_nautilus
from conftest import TINY_FIT, TINY_FIT_CLI, copy_results
from test_fit_units import Gaussian, uniform_model

QUICK = TINY_FIT
CLI = TINY_FIT_CLI


class WritesAFile:
    """Unpickling this creates ``path``: what a crafted checkpoint could do."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def finished(tiny_dataset, tiny_fit, tmp_path_factory) -> tuple[Path, Path]:
    """(dataset folder, a copy of the results folder of its finished quick fit)."""
    return tiny_dataset, copy_results(tiny_fit, tmp_path_factory.mktemp("runs") / "fit")


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_signed_checkpoint_round_trips_and_any_change_is_refused(tmp_path):
    blob = signed(pickle.dumps({"a": 1}))
    (tmp_path / "c.save").write_bytes(blob)
    assert load_checkpoint(tmp_path / "c.save") == {"a": 1}
    assert pickle.loads(blob) == {"a": 1}  # dynesty's own reader still reads it
    tampered = blob.replace(b"K\x01", b"K\x02")
    assert tampered != blob
    with pytest.raises(UntrustedCheckpoint, match="bad signature"):
        verified(tampered, "c.save")
    with pytest.raises(UntrustedCheckpoint, match="no signature"):
        verified(pickle.dumps({"a": 1}), "c.save")
    with pytest.raises(UntrustedCheckpoint, match="empty file"):
        verified(b"", "c.save")
    with pytest.raises(UntrustedCheckpoint, match="bad signature"):
        verified(b"x" + MAGIC + b"0" * 64, "c.save")


def test_the_key_is_private_and_a_bad_key_file_is_refused(tmp_path, monkeypatch):
    key = tmp_path / "cfg" / "key"
    monkeypatch.setenv(KEY_ENV, str(key))
    assert len(user_key()) == 32 and user_key() == key.read_bytes()
    assert key.stat().st_mode & 0o777 == 0o600
    os.chmod(key, 0o644)
    with pytest.raises(UntrustedCheckpoint, match="chmod 600"):
        user_key()
    os.chmod(key, 0o600)
    key.write_bytes(b"short")
    with pytest.raises(UntrustedCheckpoint, match="32 bytes"):
        user_key()
    key.unlink()
    key.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UntrustedCheckpoint, match="not a link"):
        user_key()


def test_a_checkpoint_signed_with_another_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "other.key"))
    blob = signed(pickle.dumps([1, 2]))
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "mine.key"))
    user_key()
    with pytest.raises(UntrustedCheckpoint, match="bad signature"):
        verified(blob, "c.save")


CRAFTED = {
    "code": lambda marker: pickle.dumps(WritesAFile(str(marker))),
    "code-with-a-fake-trailer": lambda marker: pickle.dumps(WritesAFile(str(marker))) + MAGIC + b"f" * 64,
    "empty": lambda marker: b"",
    "wrong-shape": lambda marker: pickle.dumps(7),
}


@pytest.mark.parametrize("kind", list(CRAFTED))
def test_cli_refuses_a_crafted_checkpoint_runs_nothing_and_changes_nothing(finished, tmp_path, kind, capsys):
    dataset, out = finished
    marker = tmp_path / "pwned"
    original = (out / "checkpoint.save").read_bytes()
    try:
        (out / "checkpoint.save").write_bytes(CRAFTED[kind](marker))
        before = snapshot(out)
        argv = ["fit", str(dataset), "--out", str(out), "--resume", *CLI]
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "refused" in err and "checkpoint.save" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err
        assert not marker.exists()
        assert snapshot(out) == before
    finally:
        (out / "checkpoint.save").write_bytes(original)


def test_a_signed_wrong_shaped_checkpoint_is_refused(finished, tmp_path, capsys):
    dataset, out = finished
    original = (out / "checkpoint.save").read_bytes()
    try:
        (out / "checkpoint.save").write_bytes(signed(pickle.dumps({"sampler": 3, "format_version": 1})))
        assert main(["fit", str(dataset), "--out", str(out), "--resume", *CLI]) == 1
        assert "not a dynesty checkpoint" in capsys.readouterr().err
    finally:
        (out / "checkpoint.save").write_bytes(original)


def test_a_checkpoint_that_is_a_link_or_a_fifo_is_refused(finished, tmp_path, capsys):
    dataset, out = finished
    original = (out / "checkpoint.save").read_bytes()
    argv = ["fit", str(dataset), "--out", str(out), "--resume", *CLI]
    try:
        (tmp_path / "real.save").write_bytes(original)
        (out / "checkpoint.save").unlink()
        (out / "checkpoint.save").symlink_to(tmp_path / "real.save")
        assert main(argv) == 1
        assert "not a link" in capsys.readouterr().err
        (out / "checkpoint.save").unlink()
        os.mkfifo(out / "checkpoint.save")
        assert main(argv) == 1
        assert "not a regular file" in capsys.readouterr().err
    finally:
        (out / "checkpoint.save").unlink()
        (out / "checkpoint.save").write_bytes(original)


def test_the_signed_checkpoint_resumes(finished):
    dataset, out = finished
    again = fit(dataset, out=out, resume=True, **QUICK)
    assert again.info["resumed"] is True


@pytest.mark.parametrize("content", [b"", b"\x89HDF\r\n\x1a\n" + b"\x00" * 64, b"not hdf5 at all"])
def test_an_unreadable_nautilus_checkpoint_is_one_error(tmp_path, content):
    pytest.importorskip("nautilus")
    pytest.importorskip("h5py")

    checkpoint = tmp_path / "checkpoint.hdf5"
    checkpoint.write_bytes(content)
    with pytest.raises(ValueError, match="not a readable nautilus checkpoint"):
        sample_nautilus(Gaussian(uniform_model()), NautilusSettings(nlive=100, n_networks=1, n_eff=500),
                        checkpoint=checkpoint, resume=True, progress=False)
    assert checkpoint.read_bytes() == content


def _external_link(h5py, path, outside):
    with h5py.File(path, "w") as f:
        f.create_group("sampler")["points"] = h5py.ExternalLink(str(outside), "/data")


def _external_storage(h5py, path, outside):
    with h5py.File(path, "w") as f:
        f.create_dataset("points", shape=(8,), dtype="u1", external=[(str(outside), 0, 8)])


def _virtual(h5py, path, outside):
    layout = h5py.VirtualLayout(shape=(8,), dtype="u1")
    layout[:] = h5py.VirtualSource(str(outside), "data", shape=(8,))
    with h5py.File(path, "w") as f:
        f.create_virtual_dataset("points", layout)


@pytest.mark.parametrize("make", [_external_link, _external_storage, _virtual])
def test_a_nautilus_checkpoint_reaching_other_files_is_refused(tmp_path, make):
    pytest.importorskip("nautilus")
    h5py = pytest.importorskip("h5py")

    outside = tmp_path / "elsewhere.h5"
    with h5py.File(outside, "w") as f:
        f["data"] = list(range(8))
    checkpoint = tmp_path / "checkpoint.hdf5"
    make(h5py, checkpoint, outside)
    content = checkpoint.read_bytes()
    with pytest.raises(ValueError, match="refused: it holds .*(external link|stored in other files)") as err:
        sample_nautilus(Gaussian(uniform_model()), NautilusSettings(nlive=100, n_networks=1, n_eff=500),
                        checkpoint=checkpoint, resume=True, progress=False)
    assert str(checkpoint) in str(err.value) and "\n" not in str(err.value)
    assert checkpoint.read_bytes() == content
