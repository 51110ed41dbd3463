"""Public names of a package imported on first use (PEP 562 module ``__getattr__``).

``__getattr__, __dir__ = lazy_attributes(__name__, {"run": "sim.runner", ...})`` in a package's
``__init__`` makes ``package.run`` import :mod:`sim.runner` the first time it is read, so that
importing the package costs nothing it does not use.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_attributes(
    package: str, names: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``names`` maps each public name to the
    module that defines it; a name read once is stored in the package (later reads are plain)."""

    def __getattr__(name: str) -> object:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__


__all__ = ["lazy_attributes"]
