"""``sim.monte_carlo`` and ``sim.sweep`` that refuse to start from a script without an
``if __name__ == "__main__":`` guard, naming it.

Local batches start worker processes with multiprocessing's "forkserver" or "spawn" method,
which import the running script again in every worker: an unguarded batch call at the top of a
script would start the batch again inside each worker, and the workers die (README, "Why the
``if __name__ == "__main__":`` guard"). The check reads the script's source (``ast``) before any
process starts; interactive sessions, ``python -c``, notebooks and Dask schedulers need no
guard and are not checked.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Callable
from pathlib import Path

from sim.batch import runner
from sim.errors import MinersimError


def unguarded_script() -> Path | None:
    """The script running as ``__main__`` if it has no top-level ``if __name__ ==
    "__main__":`` block (None for interactive sessions, ``-c``, notebooks, guarded scripts)."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if not path or not str(path).endswith(".py") or not Path(path).is_file():
        return None
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (SyntaxError, ValueError):
        return None
    guarded = any(isinstance(node, ast.If) and _is_main_test(node.test) for node in tree.body)
    return None if guarded else Path(path)


def _is_main_test(test: ast.expr) -> bool:
    """Whether ``test`` is ``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    sides = [test.left, test.comparators[0]]
    names = {s.id for s in sides if isinstance(s, ast.Name)}
    texts = {s.value for s in sides if isinstance(s, ast.Constant)}
    return isinstance(test.ops[0], ast.Eq) and names == {"__name__"} and texts == {"__main__"}


def require_main_guard(function: Callable) -> Callable:
    """``function`` (a batch entry point) that first refuses, in one line, to run local worker
    processes from a script without the ``__main__`` guard (not checked with ``scheduler=``)."""

    @functools.wraps(function)
    def checked(*args, **kwargs):
        script = unguarded_script() if kwargs.get("scheduler") is None else None
        if script is not None:
            raise MinersimError(
                f"{script.name} calls sim.{function.__name__} without an `if __name__ == "
                '"__main__":` guard: the batch\'s worker processes import the script again and '
                'would each start the batch anew; put the call under the guard (README: "Why '
                'the `if __name__ == "__main__":` guard")'
            )
        return function(*args, **kwargs)

    return checked


monte_carlo = require_main_guard(runner.monte_carlo)
sweep = require_main_guard(runner.sweep)

__all__ = ["monte_carlo", "require_main_guard", "sweep", "unguarded_script"]
