"""The browser UI: `minersim ui demo` served by solara, driven in headless Debian chromium.

The ``browser`` tests start the server as users do, step, play and reset the model through the
page's own controls and look at what the page shows. They write ``test-artifacts/ui.png`` (a
screenshot) and ``test-artifacts/ui-timings.txt`` (how long the page took to show each step).
The unmarked tests check the mapping from the page's parameters to the model without a browser.
"""

from __future__ import annotations

import inspect
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.input.scenario import load_scenario
from sim.ui.params import (
    SLIDERS,
    model_params,
    page_defaults,
    page_model_class,
    ui_overrides,
)

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SCENARIO = "demo"
SERVER_START_TIMEOUT_S = 60
PAGE_TIMEOUT_MS = 60_000
N_CHARTS = 6  # matplotlib images: balance sheets + five time series
EMPTY_CHART_TEXT = "Press Step to run an epoch"


# ---------------------------------------------------------------- without a browser
def test_page_model_takes_exactly_the_page_parameters():
    defaults = page_defaults(SCENARIO)
    signature = inspect.signature(page_model_class(defaults).__init__)
    assert set(signature.parameters) - {"self"} == set(model_params(defaults))
    assert "scenario" not in signature.parameters  # Mesa would fill it with its own object


def test_only_moved_parameters_become_overrides():
    defaults = page_defaults(SCENARIO)
    assert ui_overrides(defaults.sliders, defaults.policy, defaults) == {}
    lease = next(s for s in SLIDERS if s.key == "market.ai.lease_usd_per_mw_year")
    moved = {**defaults.sliders, lease.name: defaults.sliders[lease.name] + 2 * lease.step}
    overrides = ui_overrides(moved, "hodl" if defaults.policy != "hodl" else "rational", defaults)
    assert set(overrides) == {lease.key, "miners.policy"}
    assert overrides[lease.key] == pytest.approx(moved[lease.name] * lease.scale)


def test_reset_builds_the_model_from_the_page_values():
    """SolaraViz's own Reset path: Mesa's kwargs builder, then ``type(model)(**kwargs)``."""
    from mesa.visualization.solara_viz import _build_model_init_kwargs

    defaults = page_defaults(SCENARIO)
    model_class = page_model_class(defaults)
    params = {name: spec["value"] for name, spec in model_params(defaults).items()}
    volatility = next(s for s in SLIDERS if s.key == "market.btc.volatility")
    params.update({"seed": " 7 ", volatility.name: params[volatility.name] + volatility.step})
    kwargs = _build_model_init_kwargs(
        model_class(),
        params,
        add_scenario_when_empty=True,
        require_model_accepts_scenario=True,
    )
    model = model_class(**kwargs)
    assert model.seed == 7
    expected = (defaults.sliders[volatility.name] + volatility.step) * volatility.scale
    assert model.cfg.market.btc.volatility == pytest.approx(expected)
    assert model.ui_notes == []


def test_a_bad_seed_is_reported_on_the_page_not_raised():
    model = page_model_class(page_defaults(SCENARIO))(seed="twelve")
    assert model.seed == 0
    assert any("twelve" in note for note in model.ui_notes)


def test_ui_command_rejects_an_unknown_scenario(capsys):
    from sim.cli import main

    assert main(["ui", "no_such_scenario_here"]) == 2
    assert "no_such_scenario_here" in capsys.readouterr().err


# ---------------------------------------------------------------- in a real browser
@dataclass(frozen=True)
class UiServer:
    url: str
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _minersim_command() -> list[str]:
    script = Path(sys.executable).with_name("minersim")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())"]


def _wait_until_served(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"minersim ui exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    pytest.fail(f"minersim ui did not answer within {SERVER_START_TIMEOUT_S} s:\n{log.read_text()}")


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server's process group (it was started in a session of its own)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory):
    """`minersim ui demo --port P` on a free port, as a user starts it."""
    port = _free_port()
    log = tmp_path_factory.mktemp("ui") / "server.log"
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*_minersim_command(), "ui", SCENARIO, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_served(url, proc, log)
        yield UiServer(url, log)
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A window tall enough for every chart to be in the screenshot."""
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1800}}


def _is_harmless(message) -> bool:
    """The page's "runs on solara" check asks solara.dev, which is unreachable offline."""
    return "solara.dev" in (message.location.get("url") or "") or "solara.dev" in message.text


def _watch_for_errors(page) -> list[str]:
    errors: list[str] = []
    page.on(
        "console",
        lambda m: m.type == "error" and not _is_harmless(m) and errors.append(m.text),
    )
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    return errors


def _open(page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url, timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Step")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_text("Time: 0.0")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.locator(".vue-grid-item img")).to_have_count(N_CHARTS, timeout=PAGE_TIMEOUT_MS)


def _chart_sources(page) -> list[str]:
    return page.locator(".vue-grid-item img").evaluate_all("imgs => imgs.map(i => i.src)")


def _chart_texts(page) -> list[str]:
    """The charts' SVG documents (their text is kept as text)."""
    return page.locator(".vue-grid-item img").evaluate_all(
        "imgs => Promise.all(imgs.map(i => fetch(i.src).then(r => r.text())))"
    )


#: Clicks Step in the page and times, with the page's clock, how long until the page shows
#: "Time: n.0" and until every chart image has been replaced (seconds; fails after 30 s).
TIMED_STEP_JS = """async (n) => {
  const sources = () => [...document.querySelectorAll('.vue-grid-item img')].map(i => i.src);
  const before = sources();
  const step = [...document.querySelectorAll('button')]
    .find(b => b.innerText.trim().toUpperCase() === 'STEP');
  const t0 = performance.now();
  const until = ok => new Promise((done, fail) => {
    const poll = () => {
      const elapsed = (performance.now() - t0) / 1000;
      if (ok()) done(elapsed);
      else if (elapsed > 30) fail(new Error(`step ${n}: no update within 30 s`));
      else requestAnimationFrame(poll);
    };
    poll();
  });
  step.click();
  const shown = await until(() => document.body.innerText.includes(`Time: ${n}.0`));
  const charts = await until(() => sources().every((src, k) => src !== before[k]));
  return [shown, charts];
}"""


def _time_shown(page) -> float:
    text = page.get_by_text(re.compile(r"^Time: ")).inner_text()
    return float(text.removeprefix("Time: "))


@pytest.mark.browser
def test_steps_play_and_charts_in_the_browser(page, ui_server):
    from playwright.sync_api import expect

    errors = _watch_for_errors(page)
    _open(page, ui_server.url)
    assert ui_server.url in ui_server.log.read_text()  # the command printed where it serves
    heading = page.locator(".vue-grid-item").filter(has_text="Miners:")
    expect(heading).to_contain_text("Epoch 0")
    n_public = len(load_scenario(SCENARIO).miners)
    expect(page.locator(".minersim-miners tbody tr")).to_have_count(n_public + 1)  # + fringe
    before = _chart_sources(page)
    assert all(EMPTY_CHART_TEXT in svg for svg in _chart_texts(page)[1:])

    page.get_by_role("button", name="Step").click()
    # a session's first step loads the compiled kernel and draws every chart: seconds on a busy
    # machine, beyond expect's default 5 s
    expect(page.get_by_text("Time: 1.0")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    timings = [page.evaluate(TIMED_STEP_JS, epoch) for epoch in (2, 3, 4)]
    expect(page.get_by_text("Time: 4.0")).to_be_visible()
    expect(heading).to_contain_text("Epoch 4")
    assert all(src != old for src, old in zip(_chart_sources(page), before, strict=True))
    assert not any(EMPTY_CHART_TEXT in svg for svg in _chart_texts(page))

    page.get_by_role("button", name="▶").click()
    page.wait_for_function(
        "() => /Time: (\\d+)/.exec(document.body.innerText) && "
        "+/Time: (\\d+)/.exec(document.body.innerText)[1] >= 10",
        timeout=PAGE_TIMEOUT_MS,
    )
    page.get_by_role("button", name="❚❚").click()
    expect(page.get_by_role("button", name="Step")).to_be_enabled()
    assert _time_shown(page) >= 10

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "ui.png", full_page=True)
    (ARTIFACTS / "ui-timings.txt").write_text(
        "seconds from clicking Step to the page showing the new time / all new charts: "
        + ", ".join(f"{shown:.2f} / {charts:.2f}" for shown, charts in timings)
        + "\n"
    )
    assert not errors, errors


@pytest.mark.browser
def test_moved_slider_and_seed_apply_on_reset(page, ui_server):
    from playwright.sync_api import expect

    errors = _watch_for_errors(page)
    _open(page, ui_server.url)
    volatility = next(s for s in SLIDERS if s.key == "market.btc.volatility")
    start = page_defaults(SCENARIO).sliders[volatility.name]
    slider = page.locator(".v-input", has_text=volatility.label).get_by_role("slider")
    assert float(slider.get_attribute("aria-valuenow")) == pytest.approx(start)
    # The seed first: the text field sends its value on Enter / blur, and typing it first puts
    # that message ahead of the slider's (a seed typed just before Reset once arrived after it).
    seed = page.get_by_label("Seed (whole number >= 0)")
    seed.fill("7")
    seed.press("Enter")
    seed.blur()
    slider.focus()
    slider.press("ArrowRight")
    slider.press("ArrowRight")
    moved = start + 2 * volatility.step
    assert float(slider.get_attribute("aria-valuenow")) == pytest.approx(moved)

    page.get_by_role("button", name="Step").click()
    expect(page.get_by_text("Time: 1.0")).to_be_visible(timeout=PAGE_TIMEOUT_MS)  # first step
    heading = page.locator(".vue-grid-item").filter(has_text="Miners:")
    expect(heading).to_contain_text(f"{volatility.label} {start:g},")  # sliders wait for Reset
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_text("Time: 0.0")).to_be_visible()
    expect(heading).to_contain_text("Epoch 0")
    expect(heading).to_contain_text("seed 7")
    expect(heading).to_contain_text(f"{volatility.label} {moved:g},")

    seed.fill("seven")
    seed.press("Enter")
    seed.blur()
    page.get_by_role("button", name="Step").click()  # a round trip: the seed has arrived by then
    expect(page.get_by_text("Time: 1.0")).to_be_visible()
    page.get_by_role("button", name="Reset").click()
    expect(heading).to_contain_text("ran seed 0 instead")
    expect(page.get_by_role("button", name="Step")).to_be_enabled()
    assert not errors, errors
