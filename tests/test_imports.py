"""Module structure: no import of a clusterlens module inside a function (it would hide an import cycle),
except in the CLI, whose commands import what they run so that ``clusterlens --help`` starts fast; type-only
imports sit under ``if TYPE_CHECKING:``. Heavy third-party libraries may be imported where they are used."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "clusterlens"
#: the command line: each command imports its modules when it runs (tests/test_cli.py checks start-up)
COMMAND_MODULES = {PACKAGE / "cli.py"}


def _internal_imports_in_functions(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            internal = isinstance(inner, ast.ImportFrom) and (inner.level > 0
                                                              or (inner.module or "").startswith("clusterlens"))
            if internal:
                found.append(f"{path.relative_to(root)}:{inner.lineno}: from {'.' * inner.level}"  # type: ignore[union-attr]
                             f"{inner.module or ''} import ...")
            elif isinstance(inner, ast.Import) and any(a.name.startswith("clusterlens") for a in inner.names):
                found.append(f"{path.relative_to(root)}:{inner.lineno}: import clusterlens...")
    return found


def test_no_clusterlens_import_inside_a_function():
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) if path not in COMMAND_MODULES
             for hit in _internal_imports_in_functions(path)]
    assert not found, "imports of clusterlens modules inside functions:\n" + "\n".join(found)


def test_the_check_sees_a_function_level_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from .units import ARCSEC\n\ndef f():\n    from .model import ClusterModel\n"
                      "    import clusterlens.lens\n    import numpy\n    return ClusterModel\n")
    assert _internal_imports_in_functions(module, tmp_path) == ["m.py:4: from .model import ...",
                                                                "m.py:5: import clusterlens..."]
