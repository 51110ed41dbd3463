"""``minersim ui``: serve the browser page (Mesa SolaraViz) for a scenario."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import NoReturn

from sim.errors import MinersimError
from sim.ui import SCENARIO_DIR_ENV, SCENARIO_ENV

APP = Path(__file__).resolve().parent.parent / "ui" / "app.py"


def port_number(text: str) -> int:
    """A TCP port for ``--port``: a whole number 1-65535 (argparse type)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1-65535, got {port}")
    return port


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ui", help="serve the interactive browser page (Mesa SolaraViz)")
    p.add_argument(
        "scenario",
        nargs="?",
        default=None,
        help="scenario name or TOML path the page opens with (default baseline, else demo)",
    )
    p.add_argument("--port", type=port_number, default=8765, help="TCP port (default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument(
        "--scenario-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="a folder whose TOML scenarios the page may run too (it runs no others)",
    )
    p.set_defaults(func=ui_command)


def check_port_free(host: str, port: int) -> None:
    """MinersimError unless this process could listen on ``host:port`` now."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):
        raise MinersimError(f"--host {host!r}: unknown host or interface") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise MinersimError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}): choose another --port"
            ) from None


def solara_command(port: int, host: str) -> list[str]:
    """The ``solara run`` command line for the page, with this environment's Python and solara
    behind a read-only asset proxy (:mod:`sim.ui.serve`)."""
    return [
        sys.executable,
        "-m",
        "sim.ui.serve",
        "run",
        str(APP),
        "--port",
        str(port),
        "--host",
        host,
        "--production",
    ]


def ui_command(args: argparse.Namespace) -> NoReturn:
    from sim.ui.params import default_scenario, page_defaults

    check_port_free(args.host, args.port)
    folder = getattr(args, "scenario_dir", None)
    defaults = page_defaults(args.scenario or default_scenario(), folder)  # fails fast if invalid
    env = {
        **os.environ,
        SCENARIO_ENV: defaults.scenario,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    }
    if folder is not None:
        env[SCENARIO_DIR_ENV] = str(folder.resolve())
    print(
        f"minersim ui: {defaults.scenario} at http://{args.host}:{args.port}/ (Ctrl-C stops it)",
        flush=True,
    )
    command = solara_command(args.port, args.host)
    os.execve(command[0], command, env)  # the server replaces this process: signals reach it
