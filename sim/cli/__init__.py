"""The ``minersim`` command line. Each sub-command lives in its own module of this package and
exposes ``add_parser(subparsers)``; the parser it adds sets ``func(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import sys

from sim import __version__
from sim.errors import MinersimError

COMMAND_MODULES = (
    "run",
    "validate",
    "batch",
    "report",
    "experiment",
    "ui",
    "calibrate",
    "discover",
    "params",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minersim", description="Agent-based simulator of the Bitcoin mining industry."
    )
    parser.add_argument("--version", action="version", version=f"minersim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"sim.cli.{name}")
        except ModuleNotFoundError as exc:  # a command module not written yet
            if exc.name != f"sim.cli.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MinersimError as exc:
        print(f"minersim: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the user gave: not writable, not a folder, ...
        print(f"minersim: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("minersim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


def _one_line(message: str) -> str:
    """Error messages stay on one line: control characters a user typed are shown escaped."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


if __name__ == "__main__":
    sys.exit(main())
