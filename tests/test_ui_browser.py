"""The browser UI: `minersim ui baseline` served by solara, driven in headless Debian chromium.

The ``browser`` tests start the server as users do, step, play and reset the model through the
page's own controls, select a miner and read its reasons and history, and look at what the page
shows. They write screenshots to ``test-artifacts/`` (ui.png, ui-reasons.png, ui-history.png;
copies of them are docs/ui*.png) and ``test-artifacts/ui-play.txt`` (epochs per second while
playing, every chart redrawn each epoch). The unmarked tests check the page's parameters, its
charts and its reasons panel without a browser.
"""

from __future__ import annotations

import contextlib
import html
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
from sim.ui import charts, data
from sim.ui.params import (
    SLIDERS,
    model_params,
    page_defaults,
    page_model_class,
    page_values,
    ui_overrides,
)

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SCENARIO = "baseline"
OTHER_SCENARIO = "btc_bear"
SERVER_START_TIMEOUT_S = 60
PAGE_TIMEOUT_MS = 60_000
N_NETWORK_CHARTS = 5
N_MINER_CHARTS = 4  # balance sheet, capacity split, hashrate, share price
EMPTY_CHART_TEXT = "Press Step to run an epoch"
#: Epochs played for the speed measurement.
PLAY_EPOCHS = 40


# ---------------------------------------------------------------- without a browser
def test_page_model_takes_exactly_the_page_parameters():
    defaults = page_defaults(SCENARIO)
    signature = inspect.signature(page_model_class(defaults).__init__)
    assert set(signature.parameters) - {"self"} == set(model_params(defaults))
    assert "scenario" not in signature.parameters  # Mesa would fill it with its own object


def test_only_moved_parameters_become_overrides():
    defaults = page_defaults(SCENARIO)
    notes: list[str] = []
    assert ui_overrides(defaults.sliders, defaults.policy, defaults, notes) == {}
    lease = next(s for s in SLIDERS if s.key == "market.ai.lease_usd_per_mw_year")
    moved = {**defaults.sliders, lease.name: defaults.sliders[lease.name] + 2 * lease.step}
    policy = "hodl" if defaults.policy != "hodl" else "rational"
    overrides = ui_overrides(moved, policy, defaults, notes)
    assert set(overrides) == {lease.key, "miners.policy"}
    assert overrides[lease.key] == pytest.approx(moved[lease.name] * lease.scale)
    assert notes == []


def test_the_policy_selector_offers_every_registered_policy():
    values = model_params(page_defaults(SCENARIO))["policy"]["values"]
    assert {"rational", "hodl", "mining_only", "ai_first"} <= set(values)


def test_choosing_a_scenario_moves_the_sliders_to_its_own_values():
    defaults = page_defaults(SCENARIO)
    bear = page_values(OTHER_SCENARIO)
    drift = next(s for s in SLIDERS if s.key == "market.btc.drift")
    assert bear[drift.name] != defaults.sliders[drift.name]  # else the test shows nothing
    model = page_model_class(defaults)(scenario_name=OTHER_SCENARIO, **bear)
    assert model.ui_overrides == {} and model.ui_notes == []
    assert f"{drift.label} {bear[drift.name]:g}," in charts.parameters_line(model)


def test_a_slider_value_that_is_not_a_number_is_a_note_not_an_error():
    model = page_model_class(page_defaults(SCENARIO))(btc_drift="fast", btc_volatility=float("nan"))
    assert any("BTC drift (annual, log): 'fast' is not a number" in n for n in model.ui_notes)
    assert any("BTC volatility (annual): nan is not a number" in n for n in model.ui_notes)
    assert model.ui_overrides == {}


def test_the_reasons_of_any_earlier_epoch_are_shown():
    model = page_model_class(page_defaults(SCENARIO))()
    for _ in range(3):
        model.step()
    first = charts.reasons_html(model, 0, 1)
    assert f"epoch 1 ({data.epoch_date(model, 1)})" in first
    assert html.escape(model.decisions_at[0][1].explain(0)) in first
    assert "epoch 3 (" in charts.reasons_html(model, 0)  # the latest by default


def test_the_action_marks_have_a_legend():
    legend = charts.actions_legend_html()
    for action, color in charts.ACTION_COLORS.items():
        assert f"{action}: {charts.ACTION_MEANINGS[action]}" in legend and color in legend


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


def test_charts_have_dates_and_sane_axes_before_and_after_a_step():
    model = page_model_class(page_defaults(SCENARIO))()
    empty = charts.network_charts(model)
    assert all(EMPTY_CHART_TEXT in svg for svg in empty)
    ticks = re.findall(r'class="ytick"[^>]*>([^<]+)<', empty[0])
    assert ticks == ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]  # not +-0.045 nor -4e-05k
    start = model.cfg.scenario.start_date
    assert f"{start:%b %Y}" in empty[0] or str(start.year) in empty[0]
    model.step()
    cells = _public_cells(charts.miners_table_html(model, 0))
    assert not any("—" in cell for row in cells for cell in row)
    svg = charts.network_charts(model)[0]
    assert EMPTY_CHART_TEXT not in svg and 'class="series"' in svg


def _public_cells(table: str) -> list[list[str]]:
    """The cells of each public miner's row of the miners' table."""
    body = table.split("<tbody>")[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body)[:-1]  # the last row is the fringe
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]


def test_the_table_is_filled_before_the_first_epoch():
    model = page_model_class(page_defaults(SCENARIO))()
    cells = _public_cells(charts.miners_table_html(model, 0))
    assert len(cells) == len(model.spec.miners)
    assert not any("—" in cell for row in cells for cell in row)
    first = model.spec.miners.iloc[0]
    assert cells[0][2] == f"{first['hashrate_ehs']:,.1f}"
    assert cells[0][-1] == f"{first['share_price_usd'] * first['shares_outstanding'] / 1e9:,.2f}"


def test_reasons_panel_shows_the_policy_sentence_and_figures():
    model = page_model_class(page_defaults(SCENARIO))()
    model.step()
    panel = charts.reasons_html(model, 0)
    assert html.escape(model.last_decisions.explain(0)) in panel
    for words in ("Mining margin per MW", "AI lease NOI per MW", "Cash runway", "Markets"):
        assert words in panel
    fringe = charts.reasons_html(model, charts.FRINGE)
    assert "fringe&#x27;s own rules" in fringe


def test_a_miners_history_marks_its_actions():
    model = page_model_class(page_defaults(SCENARIO))()
    for _ in range(3):
        model.step()
    acted = [i for i in range(model.n_public) if data.actions(model, i)]
    assert acted, "no public miner did more than mine in 3 epochs"
    svgs = charts.miner_charts(model, acted[0])
    assert len(svgs) == N_MINER_CHARTS
    assert svgs[0].count("minersim-marker") == len(data.actions(model, acted[0]))
    assert len(charts.miner_charts(model, charts.FRINGE)) == N_MINER_CHARTS - 1


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


@contextlib.contextmanager
def serving(log: Path, *extra: str):
    """`minersim ui SCENARIO --port P` (plus ``extra`` arguments) on a free port, its output in
    ``log``; yields its URL once it answers, and stops it afterwards."""
    port = _free_port()
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*_minersim_command(), "ui", SCENARIO, "--port", str(port), *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_served(url, proc, log)
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory):
    """`minersim ui baseline --port P` on a free port, as a user starts it."""
    log = tmp_path_factory.mktemp("ui") / "server.log"
    with serving(log) as url:
        yield UiServer(url, log)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A window wide and tall enough for the page's charts."""
    return {**browser_context_args, "viewport": {"width": 1500, "height": 2000}}


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
    expect(page.locator(".minersim-status")).to_contain_text("Epoch 0", timeout=PAGE_TIMEOUT_MS)
    expect(page.locator(".minersim-network svg")).to_have_count(N_NETWORK_CHARTS)


def _epoch_shown(page) -> int:
    return int(re.search(r"Epoch (\d+)", page.locator(".minersim-status").inner_text())[1])


def _step_to(page, epoch: int) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Step").click()
    # a session's first step loads the compiled kernel: seconds on a busy machine
    expect(page.locator(".minersim-status")).to_contain_text(
        f"Epoch {epoch},", timeout=PAGE_TIMEOUT_MS
    )


#: Plays and counts, with the page's clock, the epochs the page shows and how many times it
#: redrew (each redraw replaces every chart at once): returns [epochs, redraws, seconds].
PLAY_JS = """async ([epochs, timeoutS]) => {
  const epoch = () => +/Epoch (\\d+)/.exec(
    document.querySelector('.minersim-status').textContent)[1];
  const first = epoch();
  const play = [...document.querySelectorAll('button')].find(b => b.innerText.trim() === '▶');
  play.click();
  const t0 = performance.now();
  let started = null, startEpoch = null, last = first, redraws = 0;
  return await new Promise((done, fail) => {
    const poll = () => {
      const now = performance.now(), e = epoch();
      if (e !== last) { last = e; if (started !== null) redraws += 1; }
      if (started === null && e > first) { started = now; startEpoch = e; }
      if (started !== null && e - startEpoch >= epochs) {
        done([e - startEpoch, redraws, (now - started) / 1000]);
      } else if (now - t0 > timeoutS * 1000) {
        fail(new Error(`played ${e - first} epochs in ${timeoutS} s`));
      } else requestAnimationFrame(poll);
    };
    poll();
  });
}"""


def _shot(page, name: str, locator=None) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target = locator if locator is not None else page
    kwargs = {} if locator is not None else {"full_page": True}
    target.screenshot(path=ARTIFACTS / name, **kwargs)


@pytest.mark.browser
def test_the_page_explains_shows_history_dates_and_plays(page, ui_server):
    from playwright.sync_api import expect

    errors = _watch_for_errors(page)
    _open(page, ui_server.url)
    assert ui_server.url in ui_server.log.read_text()  # the command printed where it serves
    assert "minersim" in page.title() and "Page 0" not in page.content()
    n_public = len(load_scenario(SCENARIO).miners)
    rows = page.locator(".minersim-miners tbody tr")
    expect(rows).to_have_count(n_public + 1)  # + the fringe
    expect(rows.first.locator("td").nth(2)).not_to_have_text("—")  # filled at epoch 0
    network = page.locator(".minersim-network svg")
    expect(network.first).to_contain_text(EMPTY_CHART_TEXT)
    ticks = network.first.locator(".ytick").all_text_contents()
    assert ticks[0] == "0" and ticks[-1] == "1.0", ticks
    # slider values are shown beside the sliders
    values = page.locator(".minersim-slider-value").all_inner_texts()
    assert len(values) == len(SLIDERS) + 1, values  # + the pause between epochs

    _step_to(page, 1)
    _step_to(page, 2)
    _step_to(page, 3)
    # dates on the time axis: month names with years
    x_labels = network.first.locator(".xtick").all_text_contents()
    assert x_labels and all(re.fullmatch(r"([A-Z][a-z]{2} )?20\d\d", t) for t in x_labels), x_labels
    expect(network.first).not_to_contain_text(EMPTY_CHART_TEXT)

    # select a miner: its reasons, in the policy's words, and its history
    second = load_scenario(SCENARIO).miners.iloc[1]["name"]
    page.locator(".minersim-miner-select").click()
    page.get_by_role("option", name=second, exact=True).click()
    panel = page.locator(".minersim-reasons-panel")
    expect(panel).to_contain_text(f"Why: {second}")
    expect(panel.locator(".minersim-why")).to_contain_text(re.compile(r"NPV|pay back|machines"))
    expect(panel).to_contain_text("Mining margin per MW")
    expect(panel).to_contain_text("Nearest debt maturity")
    history = page.locator(".minersim-history svg")
    expect(history).to_have_count(N_MINER_CHARTS)
    expect(history.first).to_contain_text(f"{second}: balance sheet")
    legend = page.locator(".minersim-action-legend")
    for action, meaning in charts.ACTION_MEANINGS.items():
        expect(legend).to_contain_text(f"{action}: {meaning}")

    # back to earlier epochs: each shows that epoch's reasons; "latest" follows the run again
    earlier = page.get_by_role("button", name="◀ earlier", exact=True)
    earlier.click()
    expect(panel).to_contain_text(re.compile(r"epoch 2 \(20\d\d-\d\d-\d\d\)"))
    earlier.click()
    expect(panel).to_contain_text("epoch 1 (")
    expect(panel.locator(".minersim-why")).to_contain_text(re.compile(r"NPV|pay back|machines"))
    _shot(page, "ui-reasons.png", page.locator(".minersim-reasons-panel").locator(".."))
    page.get_by_role("button", name="latest", exact=True).click()
    expect(panel).to_contain_text("epoch 3 (")

    # the policy selector lists every registered policy
    page.locator(".minersim-param-policy").click()
    for name in ("rational", "hodl", "mining_only", "ai_first"):
        expect(page.get_by_role("option", name=name, exact=True)).to_be_visible()
    page.keyboard.press("Escape")

    # compare with a second seed: dashed series on the network charts
    compare = page.get_by_label("Compare with seed (blank: none)")
    compare.fill("1")
    compare.press("Enter")
    expect(page.get_by_text("The network (dashed: seed 1)")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(network.first.locator("polyline[stroke-dasharray]")).to_have_count(1)

    played, redraws, seconds = page.evaluate(PLAY_JS, [PLAY_EPOCHS, 120])
    page.get_by_role("button", name="❚❚").click()
    expect(page.get_by_role("button", name="Step")).to_be_enabled()
    rate = played / seconds
    (ARTIFACTS / "ui-play.txt").write_text(
        f"Play on {SCENARIO} with a compared run, every chart redrawn at each redraw: "
        f"{played} epochs in {seconds:.2f} s = {rate:.1f} epochs/s, "
        f"{redraws / seconds:.1f} redraws/s\n"
    )
    assert _epoch_shown(page) >= 3 + PLAY_EPOCHS
    _shot(page, "ui.png")
    _shot(page, "ui-history.png", page.locator(".minersim-history"))
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
    seed = page.get_by_label("Seed (whole number >= 0)")
    seed.fill("7")
    seed.press("Enter")
    seed.blur()
    slider.focus()
    slider.press("ArrowRight")
    slider.press("ArrowRight")
    moved = start + 2 * volatility.step
    assert float(slider.get_attribute("aria-valuenow")) == pytest.approx(moved)
    beside = page.locator(".minersim-slider-value").nth(  # after the pause between epochs
        1 + [s.name for s in SLIDERS].index(volatility.name)
    )
    expect(beside).to_have_text(f"{moved:g}")  # shown beside the slider before Reset

    _step_to(page, 1)
    heading = page.locator(".minersim-status").locator("..")
    expect(heading).to_contain_text(f"{volatility.label} {start:g},")  # sliders wait for Reset
    page.get_by_role("button", name="Reset").click()
    expect(heading).to_contain_text("Epoch 0")
    expect(heading).to_contain_text("seed 7")
    expect(heading).to_contain_text(f"{volatility.label} {moved:g},")

    seed.fill("seven")
    seed.press("Enter")
    seed.blur()
    _step_to(page, 1)  # a round trip: the seed has arrived by then
    page.get_by_role("button", name="Reset").click()
    expect(heading).to_contain_text("ran seed 0 instead")
    expect(page.get_by_role("button", name="Step")).to_be_enabled()

    # another scenario: the sliders move to its own values, and Reset runs it as written
    bear = page_values(OTHER_SCENARIO)
    page.locator(".minersim-param-scenario_name").click()
    page.get_by_role("option", name=OTHER_SCENARIO, exact=True).click()
    expect(slider).to_have_attribute("aria-valuenow", re.compile(f"^{bear[volatility.name]:g}"))
    page.get_by_role("button", name="Reset").click()
    expect(heading).to_contain_text(f"scenario {OTHER_SCENARIO}")
    drift = next(s for s in SLIDERS if s.key == "market.btc.drift")
    expect(heading).to_contain_text(f"{drift.label} {bear[drift.name]:g},")
    expect(heading).to_contain_text(f"{volatility.label} {bear[volatility.name]:g},")
    assert not errors, errors
