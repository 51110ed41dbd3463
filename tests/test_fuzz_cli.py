"""Fuzzing the ``minersim`` command line (issue 8): random argv for ``run`` and ``validate`` (and
``mc`` / ``sweep`` once sim/cli/batch.py adds them), random ``--set`` texts, and a few real
subprocess calls of the installed ``minersim`` script.

Every command line must end with exit code 0, or exit code 2 and an error on stderr with no
traceback: ``minersim: error: ...`` on exactly one line for the program's own errors, argparse's
usage lines followed by one ``minersim COMMAND: error: ...`` line for a malformed command line.
A successful ``run`` must have written finite Parquet tables that pass the accounting checks.
Runs are cut short: ``--set scenario.end_date=...`` and ``--out`` come right after the
sub-command, so a generated option may still override them (with a value from a safe list).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from invariants import (
    LOAD_ERROR,
    RAN,
    check_balance_sheet,
    check_btc_conservation,
    check_finite,
    fuzz_with_reach,
)
from serial_backend import use_serial_backend
from strategies import (
    argv_for,
    copy_demo,
    override_texts,
    short_end,
    subcommand_parsers,
    toml_value,
    valid_variations,
)

from sim.cli import build_parser, main
from sim.cli.run import REASONS_FILE
from sim.results import RunResult

FAST = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SLOW = settings(FAST, max_examples=600)  # 2,000 took 21 min on a loaded 2-core machine
SUBCOMMANDS = subcommand_parsers(build_parser())
FUZZED = [name for name in ("run", "validate", "mc", "sweep") if name in SUBCOMMANDS]
BATCH = [name for name in ("mc", "sweep") if name in SUBCOMMANDS]
DEMO_START = dt.date(2025, 10, 1)
SHORT = f"scenario.end_date={short_end(DEMO_START)}"
RUN_CLI = "import sys; from sim.cli import main; sys.exit(main())"
#: Options not fuzzed: --report draws figures (3 s), --scheduler waits 10 s for a Dask
#: cluster, --dask-local starts one.
SKIP = frozenset({"report", "scheduler", "dask_local"})


# ------------------------------------------------------------------------------- a sandbox


class Sandbox:
    """A scratch folder holding a demo copy, a broken TOML, a plain file and a folder, used as
    the current directory while a command runs (relative outputs land inside it)."""

    def __init__(self, root: Path):
        self.root = root
        self.demo = copy_demo(root)
        self.broken = root / "broken.toml"
        self.broken.write_text('[scenario]\nname = "broken"\nstart_date = 2025-13-01\n')
        self.file = root / "afile"
        self.file.write_text("not a folder\n")
        (root / "folder").mkdir()

    @property
    def scenarios(self) -> list[str]:
        return [
            "demo",
            str(self.demo),
            str(self.broken),
            str(self.root / "demo_miners.csv"),
            str(self.root / "folder"),
            "no_such_scenario",
            "",
        ]

    @property
    def outs(self) -> list[str]:
        return [
            "out",
            str(self.root / "out2"),
            "nested/deeper",
            str(self.file),
            str(self.file / "below"),
            str(self.root / "folder"),
        ]


@contextlib.contextmanager
def sandbox():
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        yield Sandbox(Path(folder))


# ------------------------------------------------------------------------------- outcomes


def call(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``minersim argv`` in-process: (exit code, stdout, stderr)."""
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse: --help (0) or a malformed command line (2)
        code = stop.code if isinstance(stop.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_exit(argv: list[str], code: int, err: str) -> None:
    """Exit 0; exit 3 from ``run`` with one warning line (the chain stalled before the end
    date); or exit 2 with a one-line error (after argparse's usage lines, if any)."""
    assert "Traceback" not in err, err
    if code == 0:
        return
    if code == 3 and argv[0] == "run":
        lines = [line for line in err.split("\n") if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("minersim: warning: the chain stalled")
        return

    assert code == 2, f"exit code {code} for {argv}: {err}"
    lines = [line for line in err.split("\n") if line.strip()]
    assert lines, f"exit 2 and nothing on stderr for {argv}"
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1 and errors[0] == lines[-1], err  # one error line, the last
    if lines[0].startswith("usage:"):  # argparse: usage lines, then the error
        assert lines[-1].startswith("minersim"), err
    else:  # the program's own errors; batches may have printed progress lines before
        assert lines[-1].startswith("minersim: error: "), err
        assert all(line.startswith("progress:") for line in lines[:-1]), err


def assert_run_outputs(out_dir: Path) -> None:
    """The Parquet tables of a successful run are finite and pass the accounting checks."""
    result = RunResult(
        epochs=pd.read_parquet(out_dir / "epochs.parquet"),
        miners=pd.read_parquet(out_dir / "miners.parquet"),
    )
    check_finite(result)
    check_balance_sheet(result)
    check_btc_conservation(result)


def assert_outputs_under(root: Path) -> None:
    """Every run folder under ``root`` passes :func:`assert_run_outputs`; every other Parquet
    file (a batch's per-run tables) has only finite numbers, except a run's reasons table, whose
    figures say "none" as inf or NaN (no debt: no maturity; no machines: no fleet J/TH)."""
    for table in root.rglob("*.parquet"):
        if table.name == "epochs.parquet":
            assert_run_outputs(table.parent)
        elif table.name not in ("miners.parquet", REASONS_FILE):
            check_finite(RunResult(epochs=pd.read_parquet(table), miners=pd.DataFrame()))


def check_argv(argv: list[str], capsys: pytest.CaptureFixture[str], box: Sandbox) -> str:
    """Check the command's exit; returns RAN when the command did its job (a run or batch
    written, a scenario validated), not when it stopped at an error or printed its help."""
    code, _, err = call(argv, capsys)
    assert_clean_exit(argv, code, err)
    if code in (0, 3):  # 3: a run whose chain stalled still writes its tables
        assert_outputs_under(box.root)
        if not {"-h", "--help"} & set(argv):
            return RAN
    return LOAD_ERROR


#: Values that make a command valid and short: one run, a two-month horizon, a tiny design.
DEFAULTS = {
    "out": ["out"],
    "overrides": [SHORT],
    "runs": ["1"],
    "grid": ["market.btc.volatility=0.3,0.6"],
    "lhs": ["2", "--range", "market.btc.volatility=0.2:0.8"],
    "sobol": ["2", "--range", "market.btc.volatility=0.2:0.8"],
}


def with_short_defaults(argv: list[str], design: int = 0) -> list[str]:
    """Insert ``--out``, ``--set scenario.end_date=...``, the required options and one of a
    required group (the ``design``-th: sweep's --grid / --lhs / --sobol) right after the
    sub-command, so that generated options later in argv still win."""
    name, rest = argv[0], argv[1:]
    sub = SUBCOMMANDS[name]
    chosen = [a for a in sub._actions if a.dest in ("out", "overrides") or a.required]
    for group in sub._mutually_exclusive_groups:
        if group.required:
            chosen.append(group._group_actions[design % len(group._group_actions)])
    head = [name]
    for action in chosen:
        if action.option_strings:
            head += [action.option_strings[0], *DEFAULTS.get(action.dest, ["1"])]
    return head + rest


# ------------------------------------------------------------------------------- random argv


@st.composite
def command_lines(draw: st.DrawFn, box: Sandbox, names: list[str]) -> list[str]:
    """An eighth valid (the defaults, the demo, a seed and valid --set variations), a quarter
    random without the defaults, the rest random after the defaults."""
    name = draw(st.sampled_from(names))
    kind = draw(st.integers(0, 7))
    if kind == 0:
        argv = [name, draw(st.sampled_from(["demo", str(box.demo)]))]
        if name != "validate":
            argv += ["--seed", str(draw(st.integers(0, 2**32)))]
        for _ in range(draw(st.integers(0, 2))):
            key, value = draw(valid_variations().filter(lambda kv: kv[0] != "scenario.end_date"))
            argv += ["--set", f"{key}={toml_value(value)}"]
        return with_short_defaults(argv, design=draw(st.integers(0, 2)))
    argv = draw(argv_for(name, SUBCOMMANDS[name], box.scenarios, box.outs, SKIP))
    if kind in (1, 2):
        return argv

    return with_short_defaults(argv, design=draw(st.integers(0, 2)))


def fuzz_argv(capsys, names: list[str], data: st.DataObject) -> str:
    with sandbox() as box:
        argv = data.draw(command_lines(box, names), label="argv")
        return check_argv(argv, capsys, box)


# Each fuzzer counts the command lines that ran a simulation and fails below a floor.


def fuzz_commands(name: str, config, capsys, names: list[str], floor: float) -> None:
    check = functools.partial(fuzz_argv, capsys, names)
    fuzz_with_reach(name, config, check, floor, data=st.data())


@pytest.mark.timeout(300)
def test_random_argv_exits_cleanly(capsys):
    fuzz_commands("argv", FAST, capsys, FUZZED, 0.05)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_random_argv_exits_cleanly_many(capsys):
    fuzz_commands("argv_many", SLOW, capsys, FUZZED, 0.05)


@pytest.fixture
def serial_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches run in this process: fuzzing tests the command line and the runs, not process
    start-up."""
    use_serial_backend(monkeypatch)


@pytest.mark.timeout(600)
def test_random_batch_argv_exits_cleanly(capsys, serial_batches):
    fuzz_commands("batch_argv", settings(FAST, max_examples=60), capsys, BATCH, 0.05)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_random_batch_argv_exits_cleanly_many(capsys, serial_batches):
    fuzz_commands("batch_argv_many", settings(FAST, max_examples=1000), capsys, BATCH, 0.05)


def fuzz_set(capsys, command: str, texts: list[str]) -> str:
    with sandbox() as box:
        argv = [command, str(box.demo)]
        for text in texts:
            argv += ["--set", text]
        return check_argv(with_short_defaults(argv), capsys, box)


def fuzz_set_texts(name: str, config, capsys) -> None:
    check = functools.partial(fuzz_set, capsys)
    commands = st.sampled_from(["run", "validate"])
    texts = st.lists(override_texts(), max_size=3)
    fuzz_with_reach(name, config, check, 0.05, command=commands, texts=texts)


@pytest.mark.timeout(300)
def test_random_set_texts_exit_cleanly(capsys):
    fuzz_set_texts("cli_set_texts", FAST, capsys)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_random_set_texts_exit_cleanly_many(capsys):
    fuzz_set_texts("cli_set_texts_many", SLOW, capsys)


# ------------------------------------------------------------------------------- real processes


def minersim_command() -> list[str]:
    """The installed console script, or the same entry point through ``python -c``."""
    script = Path(sys.executable).with_name("minersim")
    return [str(script)] if script.is_file() else [sys.executable, "-c", RUN_CLI]


def run_processes(argvs: list[list[str]], cwd: Path) -> list[subprocess.CompletedProcess]:
    """Start every command at once (each pays the ~5 s import), then wait for all."""
    procs = [
        subprocess.Popen(
            minersim_command() + argv,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    done = []
    for argv, proc in zip(argvs, procs, strict=True):
        out, err = proc.communicate(timeout=240)
        done.append(subprocess.CompletedProcess(argv, proc.returncode, out, err))
    return done


@pytest.mark.timeout(300)
def test_real_processes_exit_codes_and_messages(tmp_path: Path):
    demo = copy_demo(tmp_path)
    bad_set, good_run = run_processes(
        [
            ["run", str(demo), "--set", "market.btc.volatilty=0.6"],
            ["run", str(demo), "--out", "out", "--set", SHORT],
        ],
        tmp_path,
    )
    assert bad_set.returncode == 2, bad_set
    lines = bad_set.stderr.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("minersim: error: ")
    assert "market.btc.volatilty" in lines[0]
    assert good_run.returncode == 0, good_run.stderr
    assert "Traceback" not in good_run.stderr
    assert_run_outputs(tmp_path / "out")


@pytest.mark.slow
@pytest.mark.timeout(1800)
@settings(FAST, max_examples=12)
@given(data=st.data())
def test_real_processes_random_argv(data):
    with sandbox() as box:
        argvs = [data.draw(command_lines(box, ["run", "validate"])) for _ in range(2)]
        assume(all("\x00" not in token for argv in argvs for token in argv))  # not in argv
        for argv, done in zip(argvs, run_processes(argvs, box.root), strict=True):
            assert_clean_exit(argv, done.returncode, done.stderr)


# ------------------------------------------------------------------------------- found by fuzzing


@pytest.mark.parametrize("where", ["afile", "afile/below"])
def test_out_that_is_not_a_folder_is_a_clear_error(capsys, where: str):
    # `minersim run demo --out FILE` crashed with FileExistsError / NotADirectoryError.
    with sandbox() as box:
        argv = with_short_defaults(["run", "demo", "--out", str(box.root / where)])
        code, _, err = call(argv, capsys)
    assert code == 2
    assert_clean_exit(argv, code, err)


def test_newline_in_a_set_text_keeps_the_error_on_one_line(capsys):
    # The parse error quotes the text verbatim: a newline in it splits the message.
    code, _, err = call(["validate", "demo", "--set", "market.btc\nvolatility"], capsys)
    assert code == 2
    assert len(err.strip().split("\n")) == 1, err


def test_scenario_name_that_is_no_folder_name_exits_cleanly(capsys):
    # Without --out, `run` writes to results/<scenario.name>; a NUL in the name crashed mkdir.
    with sandbox() as box:
        argv = ["run", str(box.demo), "--set", SHORT, "--set", 'scenario.name="a\\u0000b"']
        code, _, err = call(argv, capsys)
        assert_clean_exit(argv, code, err)


def test_help_of_every_fuzzed_command_exits_zero(capsys):
    for name in FUZZED:
        code, out, _ = call([name, "--help"], capsys)
        assert code == 0 and "usage:" in out
