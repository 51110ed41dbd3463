"""Policies by name: the registry that scenarios' ``miners.policy`` and ``miners.policies`` name.

A policy is a function ``decide(ctx, idx, out)`` written against :class:`sim.policies.
PolicyContext` and :class:`sim.policies.Decisions` (or a :class:`sim.policies.Policy`).
:func:`register_policy` adds one under a name, from any module, without editing the package::

    import sim

    @sim.register_policy("sell_below_breakeven")
    def decide(ctx, idx, out):
        ...

A scenario that uses it names the module that registers it (``miners.policy_modules =
["mypkg.mypolicies"]``): loading the scenario imports it before the policy names are checked,
and the engine imports it again in a batch's worker processes, which receive the scenario
pickled (:func:`policy`). docs/policies.md has a worked example.

The built-in rules are registered the same way, by reference (``"sim.policies:RATIONAL"``), so
that checking a scenario's names (``minersim validate``) imports neither numpy nor numba: a
reference is imported on the first run that uses it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sim.errors import MinersimError

#: The built-in rules (sim.policies), by reference.
BUILT_IN = {
    "rational": "sim.policies:RATIONAL",
    "hodl": "sim.policies:HODL",
    "mining_only": "sim.policies:MINING_ONLY",
    "ai_first": "sim.policies:AI_FIRST",
}
#: Names no policy may take: fringe agents follow sim.fringe under this name.
RESERVED = ("fringe",)


@dataclass
class _Entry:
    target: Any  # a decide function, a sim.policies.Policy, or a "module:attribute" reference
    policy: Any = None  # the sim.policies.Policy it resolves to, on first use


_REGISTRY: dict[str, _Entry] = {}


def register_policy(name: str, decide: Any = None, *, replace: bool = False) -> Any:
    """Register ``decide`` as the policy ``name``; returns ``decide``. Without ``decide``, a
    decorator: ``@register_policy("name")`` over ``def decide(ctx, idx, out)``.

    ``decide``: a function ``decide(ctx, idx, out)`` that writes proposals into ``out``
    (:class:`sim.policies.Decisions`) at the rows ``idx``, a :class:`sim.policies.Policy`, or a
    ``"module:attribute"`` reference to either (imported on first use). Registering a name again
    raises :class:`~sim.errors.MinersimError` unless ``replace`` is true or it is the same
    definition again (a module reloaded, a notebook cell run twice); built-in names cannot be
    replaced.
    """
    if decide is None:
        return lambda function: register_policy(name, function, replace=replace)
    _check_name(name)
    _check_target(name, decide)
    old = _REGISTRY.get(name)
    if old is not None and not _same_definition(old.target, decide):
        if name in BUILT_IN:
            raise MinersimError(f"policy '{name}' is built in and cannot be replaced")
        if not replace:
            raise MinersimError(
                f"policy '{name}' is already registered ({_describe(old.target)}); "
                "pass replace=True to replace it"
            )
    _REGISTRY[name] = _Entry(decide)
    return decide


def registered_policies() -> list[str]:
    """Names of the policies registered in this process, sorted."""
    return sorted(_REGISTRY)


def check_policy_name(name: str) -> str:
    """``name`` if a policy is registered under it; else ValueError listing the registered
    names (the scenario schema's check, after its ``policy_modules`` are imported)."""
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown policy '{name}' (registered: {', '.join(registered_policies())})"
        )
    return name


def import_policy_modules(modules: Iterable[str]) -> None:
    """Import each module (a dotted name, importable here: installed or on PYTHONPATH), which
    registers its policies; one-line :class:`~sim.errors.MinersimError` if one fails."""
    for module in modules:
        if not all(part.isidentifier() for part in str(module).split(".")):
            raise MinersimError(f"'{module}' is not a module name (dotted Python identifiers)")
        try:
            importlib.import_module(module)
        except MinersimError:
            raise
        except Exception as exc:  # any error of the user's module: report it in one line
            raise MinersimError(
                f"cannot import policy module '{module}' ({type(exc).__name__}: {exc}); it must "
                "be importable by every process that runs the scenario (installed, or on "
                "PYTHONPATH)"
            ) from None


def policy(name: str, modules: Iterable[str] = ()) -> Any:
    """The :class:`sim.policies.Policy` registered as ``name``. If none is, the ``modules``
    that register policies (a scenario's ``miners.policy_modules``) are imported first: a batch
    worker receives the scenario pickled, without the imports that loading it made."""
    entry = _REGISTRY.get(name)
    if entry is None:
        import_policy_modules(modules)
        entry = _REGISTRY.get(name)
    if entry is None:
        raise MinersimError(
            f"unknown policy '{name}' in this process (registered: "
            f"{', '.join(registered_policies())}); name the module that registers it in "
            "miners.policy_modules"
        )
    if entry.policy is None:
        from sim.policies import as_policy  # numpy and numba: only when a run needs them

        entry.policy = as_policy(name, _resolve(entry.target))
    return entry.policy


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise MinersimError(f"a policy name must be a Python identifier, not {name!r}")
    if name in RESERVED:
        raise MinersimError(f"policy name '{name}' is reserved (the fringe's rules)")


def _check_target(name: str, target: object) -> None:
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        if module and attribute:
            return
    elif callable(target) or callable(getattr(target, "decide", None)):
        return
    raise MinersimError(
        f"policy '{name}' must be a function decide(ctx, idx, out), a sim.policies.Policy or a "
        f"'module:attribute' reference, not {target!r}"
    )


def _resolve(target: Any) -> Any:
    if not isinstance(target, str):
        return target
    module, _, attribute = target.partition(":")
    import_policy_modules([module])
    value: Any = importlib.import_module(module)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def _definition(target: Any) -> tuple[str, str] | str:
    """Where ``target`` is defined: a reference as it is written, else the module and name of
    its function (a numba dispatcher's Python function) or, for a Policy, of its class."""
    if isinstance(target, str):
        return target
    source = getattr(target, "py_func", target)
    if not hasattr(source, "__qualname__"):
        source = type(source)
    return (source.__module__, source.__qualname__)


def _same_definition(old: Any, new: Any) -> bool:
    return old is new or _definition(old) == _definition(new)


def _describe(target: Any) -> str:
    where = _definition(target)
    return where if isinstance(where, str) else ":".join(where)


for _name, _reference in BUILT_IN.items():
    register_policy(_name, _reference)


__all__ = [
    "BUILT_IN",
    "check_policy_name",
    "import_policy_modules",
    "policy",
    "register_policy",
    "registered_policies",
]
