"""``minersim ui``: serve the browser page (Mesa SolaraViz) for a scenario."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

from sim.ui import SCENARIO_ENV

APP = Path(__file__).resolve().parent.parent / "ui" / "app.py"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ui", help="serve the interactive browser page (Mesa SolaraViz)")
    p.add_argument(
        "scenario",
        nargs="?",
        default=None,
        help="scenario name or TOML path the page opens with (default baseline, else demo)",
    )
    p.add_argument("--port", type=int, default=8765, help="TCP port (default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.set_defaults(func=ui_command)


def solara_command(port: int, host: str) -> list[str]:
    """The ``solara run`` command line for the page, using this environment's solara."""
    solara = shutil.which("solara", path=str(Path(sys.executable).parent)) or shutil.which("solara")
    launcher = [solara] if solara else [sys.executable, "-m", "solara"]
    return [*launcher, "run", str(APP), "--port", str(port), "--host", host, "--production"]


def ui_command(args: argparse.Namespace) -> NoReturn:
    from sim.ui.params import default_scenario, page_defaults

    scenario = page_defaults(args.scenario or default_scenario()).scenario  # fails fast if invalid
    env = {**os.environ, SCENARIO_ENV: scenario, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    print(
        f"minersim ui: {scenario} at http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True
    )
    command = solara_command(args.port, args.host)
    os.execve(command[0], command, env)  # the server replaces this process: signals reach it
