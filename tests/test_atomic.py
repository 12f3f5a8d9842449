"""clusterlens.atomic (files and folders never half-written), clusterlens.digest, csvio.csv_text."""
import hashlib
import os
import stat

import numpy as np
import pandas as pd
import pytest

from clusterlens import atomic, csvio
from clusterlens.digest import digest_files, file_digests, sha256


@pytest.fixture
def umask():
    """Set the process umask for one test, restoring it afterwards."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _failing_replace(monkeypatch, when):
    """Make os.replace raise for the renames ``when(src, dst)`` selects; return the calls seen."""
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append((str(src), str(dst)))
        if when(str(src), str(dst)):
            raise OSError("disk full (simulated)")
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    return calls


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_write_gives_the_mode_of_a_plainly_created_file(tmp_path, umask, mask, expected):
    umask(mask)
    atomic.write_text(tmp_path / "new.csv", "a\n")
    (tmp_path / "plain.csv").write_text("a\n")
    assert _mode(tmp_path / "new.csv") == _mode(tmp_path / "plain.csv") == expected


def test_write_replaces_content_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "file.csv"
    atomic.write_bytes(path, b"old")
    assert atomic.write_text(path, "new é") == path
    assert path.read_bytes() == "new é".encode()
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.csv"]


def test_failed_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "file.csv"
    path.write_bytes(b"old")
    _failing_replace(monkeypatch, lambda src, dst: True)
    with pytest.raises(OSError, match="simulated"):
        atomic.write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.csv"]


def test_write_files_failing_midway_keeps_every_old_file(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"old a")
    (tmp_path / "b.csv").write_bytes(b"old b")
    with pytest.raises(TypeError):  # the second file's data cannot be written
        atomic.write_files(tmp_path, {"a.csv": b"new a", "b.csv": "not bytes"})
    assert (tmp_path / "a.csv").read_bytes() == b"old a" and (tmp_path / "b.csv").read_bytes() == b"old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]


def test_write_files_leaves_other_files_alone(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    atomic.write_files(tmp_path, {"a.csv": b"1", "b.csv": b"2"})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {"a.csv": b"1", "b.csv": b"2", "notes.txt": b"mine"}


def _fill(folder, files):
    for name, data in files.items():
        (folder / name).write_bytes(data)


def test_replaced_folder_swaps_in_the_new_folder(tmp_path, umask):
    umask(0o022)
    folder = tmp_path / "results"
    with atomic.replaced_folder(folder) as tmp:
        assert tmp.parent == tmp_path and tmp != folder and not folder.exists()
        _fill(tmp, {"a.csv": b"first"})
    with atomic.replaced_folder(folder) as tmp:
        _fill(tmp, {"b.csv": b"second"})
        assert (folder / "a.csv").read_bytes() == b"first"  # untouched until the swap
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {"b.csv": b"second"}
    assert [p.name for p in tmp_path.iterdir()] == ["results"]  # no temporary or old sibling left
    assert _mode(folder) == 0o755


def test_failure_while_building_keeps_the_old_folder(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    _fill(folder, {"samples.csv": b"previous"})
    with pytest.raises(RuntimeError, match="midway"):
        with atomic.replaced_folder(folder) as tmp:
            _fill(tmp, {"samples.csv": b"half"})
            raise RuntimeError("midway")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {"samples.csv": b"previous"}
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


@pytest.mark.parametrize("existing", [True, False])
def test_failed_swap_keeps_the_old_folder(tmp_path, monkeypatch, existing):
    folder = tmp_path / "results"
    if existing:
        folder.mkdir()
        _fill(folder, {"samples.csv": b"previous"})
    # only the rename of the new folder into place fails (renaming the old one back must work)
    calls = _failing_replace(monkeypatch, lambda src, dst: dst == str(folder) and ".results.tmp-" in src)
    with pytest.raises(OSError, match="simulated"):
        with atomic.replaced_folder(folder) as tmp:
            _fill(tmp, {"samples.csv": b"new"})
    assert any(dst == str(folder) for _, dst in calls)
    if existing:
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == {"samples.csv": b"previous"}
        assert [p.name for p in tmp_path.iterdir()] == ["results"]
    else:
        assert list(tmp_path.iterdir()) == []


def test_sha256_of_a_known_message():
    # FIPS 180-2, appendix B.1
    assert sha256(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_file_digests_are_per_file_sha256_in_name_order():
    files = {"b.csv": b"2", "a.csv": b"1"}
    assert list(file_digests(files).items()) == [("a.csv", hashlib.sha256(b"1").hexdigest()),
                                                 ("b.csv", hashlib.sha256(b"2").hexdigest())]


def test_digest_of_files_keeps_the_run_json_scheme():
    # results folders written before record sha256("name\0bytes\0" for each file by name)
    assert digest_files({"b.csv": b"y", "a.csv": b"x"}) == hashlib.sha256(b"a.csv\0x\0b.csv\0y\0").hexdigest()
    assert digest_files({"a.csv": b"x", "b.csv": b"y"}) == digest_files({"b.csv": b"y", "a.csv": b"x"})
    assert digest_files({"a.csv": b"x"}) != digest_files({"a.csv": b"x "})
    assert digest_files({"a.csv": b"x"}) != digest_files({"b.csv": b"x"})


def test_csv_text_cells():
    frame = pd.DataFrame({"label": ["a,b", "c"], "value": [np.float64(0.1), np.nan], "n": [np.int64(3), 4],
                          "truth": [None, 1e-7]})
    assert csvio.frame_text(frame) == 'label,value,n,truth\n"a,b",0.1,3,\nc,,4,1e-07\n'
    assert csvio.csv_text(["x"], [[np.float32(0.5)], [float("inf")], [True]]) == "x\n0.5\ninf\nTrue\n"
