"""Options shared by several sub-commands."""

from __future__ import annotations

import argparse


def add_data_dir_option(parser: argparse.ArgumentParser) -> None:
    """``--data-dir DIR`` (repeatable): more folders the scenario may read files from."""
    parser.add_argument(
        "--data-dir",
        dest="data_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder the scenario may read files (CSV tables, extends) from, besides its own "
        "folder and the bundled scenarios (repeatable)",
    )
