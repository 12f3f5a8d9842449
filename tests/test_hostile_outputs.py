"""Nothing lost, nothing outside: re-fits swap in complete results only, a failure (a full disk) leaves
the previous results intact, and clusterlens deletes or writes only files it recorded, never through a
link, never into a folder it did not write."""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import clusterlens
from clusterlens import atomic, outputs
from clusterlens.cli import main
from clusterlens.fit import pipeline
from conftest import ROOT, TINY_FIT_CLI, copy_results
from fit_cluster import write_model

CLI = TINY_FIT_CLI


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*"))
            if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="module")
def dataset(tiny_dataset) -> Path:
    return tiny_dataset


@pytest.fixture(scope="module")
def finished(tiny_fit, tmp_path_factory) -> Path:
    out = copy_results(tiny_fit, tmp_path_factory.mktemp("runs") / "fit")
    (out / "median" / "thesis.tex").write_text("the user's")
    (out / "notes.txt").write_text("the user's")
    return out


def full_disk_at(monkeypatch, module, name: str, call: int, once: bool = False) -> None:
    """``module.name`` raises OSError(ENOSPC) from its ``call``-th call on (``once``: at that call only)."""
    real = getattr(module, name)
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call or (calls["n"] > call and not once):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)


@pytest.mark.parametrize("call", [1, 2, 14])
def test_a_full_disk_during_overwrite_leaves_the_old_results_intact(dataset, finished, monkeypatch, call, capsys):
    before = snapshot(finished)
    full_disk_at(monkeypatch, atomic, "_temporary_copy", call)
    assert main(["fit", str(dataset), "--out", str(finished), "--overwrite", *CLI]) == 1
    err = capsys.readouterr().err
    assert "No space left" in err and "Traceback" not in err
    assert snapshot(finished) == before
    assert clusterlens.fit.read_results(finished).info["seed"] == 1


@pytest.mark.parametrize("call", [1, 4, 7])
def test_a_failed_move_while_publishing_puts_everything_back(tmp_path, monkeypatch, call):
    folder, staging = tmp_path / "out", tmp_path / "new"
    atomic.write_files(folder / "median", {"a.csv": b"old a", "b.csv": b"old b"})
    atomic.write_files(folder, {"samples.csv": b"old", "gone.csv": b"old only", "notes.txt": b"user"})
    atomic.write_files(staging / "median", {"a.csv": b"new a"})
    atomic.write_files(staging, {"samples.csv": b"new", "new.csv": b"new only"})
    previous = ["median/a.csv", "median/b.csv", "samples.csv", "gone.csv"]
    before, staged = snapshot(folder), snapshot(staging)
    full_disk_at(monkeypatch, outputs.os, "replace", call, once=True)
    with pytest.raises(OSError):
        outputs.publish(staging, folder, previous)
    monkeypatch.undo()
    assert snapshot(folder) == before and snapshot(staging) == staged
    outputs.publish(staging, folder, previous)
    assert snapshot(folder) == {"median/a.csv": b"new a", "samples.csv": b"new", "new.csv": b"new only",
                                "notes.txt": b"user"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.old-")]


def test_a_foreign_out_is_refused_even_with_overwrite(dataset, tmp_path, capsys):
    out = tmp_path / "thesis"
    (out / "median").mkdir(parents=True)
    (out / "median" / "thesis.tex").write_text("mine")
    (out / "run.json").write_text("{}")
    (out / "samples.csv").write_text("my samples")
    before = snapshot(out)
    for flags in ([], ["--overwrite"], ["--resume", "--overwrite"]):
        assert main(["fit", str(dataset), "--out", str(out), *flags, *CLI]) == 1
        assert "not a clusterlens results folder" in capsys.readouterr().err
        assert snapshot(out) == before
    assert main(["run", str(dataset), "--out", str(out), *CLI]) == 1
    assert snapshot(out) == before


def test_a_dataset_name_cannot_send_results_elsewhere(dataset, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for p in dataset.iterdir():
        (data / p.name).write_bytes(p.read_bytes())
    toml = (data / "dataset.toml").read_text()
    (data / "dataset.toml").write_text(toml.replace('name = "tiny_cluster"', 'name = "../../elsewhere/x"'))
    clusterlens.load_model(data)  # the name is valid text; it no longer names any folder
    assert pipeline.default_out(data, "source") == Path("results") / "data_source"
    assert outputs.safe_component("/etc/passwd") == "_etc_passwd"
    assert outputs.safe_component("..") == "dataset" and outputs.safe_component("a\nb\x1b") == "a_b_"
    assert len(outputs.safe_component("x" * 10_000)) == outputs.MAX_COMPONENT


def test_symlinked_results_folder_and_lock_are_refused(dataset, finished, tmp_path, capsys):
    link = tmp_path / "link"
    link.symlink_to(finished)
    before = snapshot(finished)
    assert main(["fit", str(dataset), "--out", str(link), "--overwrite", *CLI]) == 1
    assert "symbolic link" in capsys.readouterr().err
    assert snapshot(finished) == before
    out = tmp_path / "locked"
    out.mkdir()
    target = tmp_path / "outside.txt"
    (out / ".lock").symlink_to(target)
    assert main(["fit", str(dataset), "--out", str(out), *CLI]) == 1
    assert "not a link" in capsys.readouterr().err
    assert not target.exists()


def test_simulate_overwrite_keeps_foreign_files_and_replaces_only_its_own(tmp_path, capsys):
    model = write_model(tmp_path / "model")
    out = tmp_path / "sim"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "keep.txt").write_text("keep")
    (out / "notes.txt").write_text("keep")
    assert main(["simulate", str(model), str(out), "--seed", "1"]) == 1
    assert "clusterlens did not write" in capsys.readouterr().err
    assert main(["simulate", str(model), str(out), "--seed", "1", "--overwrite"]) == 0
    first = (out / "data.fits").read_bytes()
    assert main(["simulate", str(model), str(out), "--seed", "2", "--overwrite"]) == 0
    assert (out / "data.fits").read_bytes() != first
    assert (out / "sub" / "keep.txt").read_text() == "keep" and (out / "notes.txt").read_text() == "keep"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 2 and "notes.txt" not in manifest["outputs"]
    clash = tmp_path / "clash"
    clash.mkdir()
    (clash / "data.fits").write_text("the user's own image")
    assert main(["simulate", str(model), str(clash), "--overwrite"]) == 1
    assert "would replace files clusterlens did not write" in capsys.readouterr().err
    assert (clash / "data.fits").read_text() == "the user's own image"
    link = tmp_path / "simlink"
    link.symlink_to(out)
    assert main(["simulate", str(model), str(link), "--overwrite"]) == 1
    assert "symbolic link" in capsys.readouterr().err
    assert os.path.islink(link)


#: Runs the CLI with every file write of clusterlens.atomic slowed down (0.3 s after each), so that a test
#: can kill it while it is writing.
SLOW_WRITES = """
import sys, time
from clusterlens import atomic
from clusterlens.cli import main
real = atomic._temporary_copy
def slow(*args):
    name = real(*args)
    time.sleep(0.3)
    return name
atomic._temporary_copy = slow
sys.exit(main(sys.argv[1:]))
"""


def kill_while_writing(argv: list[str], started) -> None:
    """Run the CLI ``argv`` in a subprocess and SIGKILL it as soon as ``started()`` is true (it has begun
    writing its files); fails if it ends or takes 60 s before that."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, "-c", SLOW_WRITES, *argv], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while not started():
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "the command never started writing"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        assert process.wait(10) == -signal.SIGKILL
    finally:
        process.kill()
        process.wait()
        if process.stderr:
            process.stderr.close()


def _written_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_kill_9_during_simulate_leaves_the_previous_dataset_and_a_rerun_completes(tiny_dataset, tmp_path):
    model = write_model(tmp_path / "model")
    out = tmp_path / "sim"
    shutil.copytree(tiny_dataset, out)  # the seed-3 simulation of this model
    before = snapshot(out)
    argv = ["simulate", str(model), str(out), "--seed", "4", "--overwrite"]
    kill_while_writing(argv, lambda: any(_written_files(p) for p in tmp_path.glob(".sim.*")))
    assert snapshot(out) == before  # no file of the killed run is visible, none of the old ones is lost
    assert main(argv) == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 4
    assert snapshot(out) != before and not [p for p in out.rglob("*") if p.name.startswith(".")]


def test_kill_9_during_a_staged_refit_leaves_the_previous_results_and_it_resumes(dataset, tiny_fit, tmp_path):
    out = copy_results(tiny_fit, tmp_path / "fit")
    before = snapshot(out)
    argv = ["fit", str(dataset), "--out", str(out), "--overwrite", *CLI, "--nlive", "25"]
    staging = pipeline.staging_folder(out)
    kill_while_writing(argv, lambda: (staging / "checkpoint.save").exists())  # its first checkpoint is written
    assert snapshot(out) == before
    assert clusterlens.fit.read_results(out).info["seed"] == 1
    assert main([*argv, "--resume"]) == 0
    assert clusterlens.fit.read_results(out).info["resumed"] is True
    assert json.loads((out / "run.json").read_text())["sampler"]["nlive"] == 25
    assert not staging.exists()


def test_overwrite_replaces_only_recorded_files(dataset, finished):  # last: it changes `finished`
    out = finished
    (out / "median" / "thesis.tex").write_text("keep")
    (out / "max_likelihood" / "important.txt").write_text("keep")
    (out / "corner.png.bak").write_text("keep")
    assert main(["fit", str(dataset), "--out", str(out), "--overwrite", *CLI, "--nlive", "25"]) == 0
    assert (out / "median" / "thesis.tex").read_text() == "keep"
    assert (out / "max_likelihood" / "important.txt").read_text() == "keep"
    assert (out / "corner.png.bak").read_text() == "keep"
    assert json.loads((out / "run.json").read_text())["sampler"]["nlive"] == 25
    recorded = outputs.read_record(out)
    assert "median/thesis.tex" not in recorded and "samples.csv" in recorded and "checkpoint.save" in recorded
    assert not pipeline.staging_folder(out).exists()
