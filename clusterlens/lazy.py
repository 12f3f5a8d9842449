"""Public names of a package imported from their submodules on first use (PEP 562 module attributes).

Keeps ``import clusterlens`` (and ``import clusterlens.fit``) cheap: a name such as
``clusterlens.load_model`` is imported the first time it is read, then stored in the package.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, names: Mapping[str, str],
                 namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """(``__getattr__``, ``__dir__``) for ``package`` whose public ``names`` map to the submodule defining
    each; ``namespace`` is the package's ``globals()``, where a name is kept once imported."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{names[name]}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
