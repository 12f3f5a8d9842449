"""What clusterlens may write and delete in an output folder: only files it recorded, never through a link.

A results folder records the files a fit wrote in ``outputs.json`` (``{"clusterlens_outputs": 1,
"files": [relative paths]}``). ``--overwrite`` and re-fits delete only those files (then the folders
they leave empty), never a whole folder: a user's ``median/notes.tex`` stays. A folder without a
readable record is not clusterlens's and is refused (unless empty).

- :func:`safe_component`: a name from a file (``dataset.toml``'s ``name``) made one path component;
- :func:`check_real_folder`: an output folder (or a folder inside it) that is a symbolic link is refused;
- :func:`publish`: move the files of a finished staging folder into the output folder, the previous
  recorded files set aside first and put back if any move fails, so a failure at any point leaves
  the previous complete results as they were;
- :func:`remove_recorded`: delete recorded files (never following a link out of the folder).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

RECORD = "outputs.json"
#: The longest path component made from a name [characters].
MAX_COMPONENT = 100


def safe_component(name: str, fallback: str = "dataset") -> str:
    """``name`` as one harmless path component: separators, control and format characters become ``_``,
    leading dots and spaces are dropped, at most ``MAX_COMPONENT`` characters; ``fallback`` if nothing is left."""
    cleaned = "".join("_" if ch in "/\\" or unicodedata.category(ch).startswith("C") else ch for ch in name)
    cleaned = cleaned.lstrip(". ").rstrip()[:MAX_COMPONENT]
    return cleaned or fallback


def check_real_folder(folder: Path, root: Path | None = None) -> None:
    """Refuse ``folder`` when it (or a folder between ``root`` and it) is a symbolic link."""
    folder = Path(folder)
    parts = [folder]
    if root is not None:
        parts = [Path(root)] + [Path(root) / p for p in _parents(folder.relative_to(root))]
    for part in parts:
        if part.is_symlink():
            raise ValueError(f"{part} is a symbolic link: clusterlens writes only into real folders "
                             "(give the link's target instead)")


def _parents(relative: Path) -> list[Path]:
    """``a``, ``a/b``, ``a/b/c`` of ``a/b/c``."""
    parts = relative.parts
    return [Path(*parts[:i]) for i in range(1, len(parts) + 1)]


def _clean(entries: object) -> list[str] | None:
    if not isinstance(entries, list):
        return None
    files = []
    for entry in entries:
        path = PurePosixPath(entry) if isinstance(entry, str) else None
        if path is None or path.is_absolute() or ".." in path.parts or not path.parts or "\\" in entry:
            return None
        files.append(path.as_posix())
    return files


def read_record(folder: Path) -> list[str] | None:
    """The files recorded in ``folder/outputs.json`` (relative, inside the folder), None when absent or invalid."""
    path = Path(folder) / RECORD
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return _clean(data.get("files")) if isinstance(data, dict) and data.get("clusterlens_outputs") == 1 else None


def record_bytes(files: Iterable[str]) -> bytes:
    return (json.dumps({"clusterlens_outputs": 1, "files": sorted(set(files) | {RECORD})}, indent=2) + "\n").encode()


def files_under(folder: Path, skip: Iterable[str] = ()) -> list[str]:
    """Every file (or link) below ``folder``, relative, POSIX separators; ``skip``: names left out."""
    skipped = set(skip)
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath).relative_to(folder)
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = [d for d in dirnames if d not in links]
        for name in [*filenames, *links]:
            relative = (base / name).as_posix()
            if relative not in skipped:
                found.append(relative)
    return sorted(found)


def _inside(folder: Path, relative: str) -> Path:
    """``folder/relative`` once no folder between them is a link (else ValueError)."""
    path = folder / relative
    check_real_folder(path.parent, folder)
    return path


def remove_recorded(folder: Path, files: Iterable[str]) -> None:
    """Delete the recorded ``files`` of ``folder`` (links themselves, never their targets), then the
    folders of theirs left empty; anything else in ``folder`` stays."""
    folder = Path(folder)
    dirs: set[Path] = set()
    for relative in files:
        path = _inside(folder, relative)
        if path.is_symlink() or path.is_file():
            path.unlink()
        dirs.update(folder / p for p in _parents(Path(relative).parent))
    for directory in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        try:
            directory.rmdir()
        except OSError:
            pass  # not empty (a user's file), or already gone


def _move(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)


def publish(staging: Path, folder: Path, previous: Iterable[str], skip: Iterable[str] = ()) -> list[str]:
    """Move every file of ``staging`` into ``folder`` and remove the ``previous`` recorded files it does not
    replace; return the files moved. The previous files are first moved to a hidden sibling, and put back
    (the new ones returned to ``staging``) if any step fails, so ``folder`` then holds what it held."""
    staging, folder = Path(staging), Path(folder)
    new = files_under(staging, skip)
    folder.mkdir(parents=True, exist_ok=True)
    check_real_folder(folder)
    aside = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
    set_aside: list[str] = []
    moved: list[str] = []
    try:
        for relative in sorted(set(previous) | set(new)):
            path = _inside(folder, relative)
            if path.is_symlink() or path.is_file():
                _move(path, aside / relative)
                set_aside.append(relative)
        for relative in new:
            _move(staging / relative, _inside(folder, relative))
            moved.append(relative)
    except BaseException:
        for relative in moved:
            _move(folder / relative, staging / relative)
        for relative in set_aside:
            _move(aside / relative, folder / relative)
        shutil.rmtree(aside, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)
    remove_recorded(folder, [f for f in set(previous) - set(new) if not (folder / f).exists()])
    return new
