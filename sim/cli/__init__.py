"""The ``minersim`` command line. Each sub-command lives in its own module of this package and
exposes ``add_parser(subparsers)``; the parser it adds sets ``func(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import sys

from sim import __version__
from sim.cli.heap import skip_final_collection
from sim.cli.signals import stopped, terminate_as_interrupt
from sim.errors import MinersimError, echo

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
    _replace_what_the_terminal_cannot_show()
    skip_final_collection()
    with terminate_as_interrupt():
        try:
            args = build_parser().parse_args(argv)
            return int(args.func(args) or 0)
        except MinersimError as exc:
            print(f"minersim: error: {_one_line(str(exc))}", file=sys.stderr)
            return 2
        except BrokenPipeError:  # output piped into `head` and the like (an OSError too)
            sys.stderr.close()
            return 0
        except OSError as exc:  # a path the user gave: not writable, not a folder, ...
            print(f"minersim: error: {_one_line(str(exc))}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM
            status, word = stopped(exc)
            print(f"minersim: {word}", file=sys.stderr)
            return status


#: Longest error line printed (characters); the rest is cut with a count.
MAX_ERROR_LINE = 1000


def _one_line(message: str) -> str:
    """Error messages stay on one line: control characters a user typed are shown escaped,
    and an echoed input of any size is cut to :data:`MAX_ERROR_LINE` characters."""
    return echo(message.replace("\r", "\\r").replace("\n", "\\n"), MAX_ERROR_LINE)


def _replace_what_the_terminal_cannot_show() -> None:
    """A terminal whose encoding cannot show a character (a scenario name in Greek on a
    Latin-1 terminal) gets an escape (``\\u03b1``) instead of a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


if __name__ == "__main__":
    sys.exit(main())
