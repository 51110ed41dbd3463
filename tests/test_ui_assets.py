"""The page's assets cannot be changed by a request (issue 27, cause 4).

Solara's CDN proxy deleted the cached folder a GET to ``/_solara/cdn/FOLDER/`` named (one request
from any web page the user visited broke the UI for good, offline) and downloaded and wrote what
was missing. ``minersim ui`` serves the cache read-only (sim/ui/serve.py). The unmarked tests
call the lookup directly; the ``slow`` one sends hostile requests to a real ``minersim ui`` on
127.0.0.1 (nothing else is ever contacted) and checks that the assets and the page still load;
the ``browser`` one then opens the page in chromium.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_ui_browser import _open, _watch_for_errors, serving

from sim.ui.serve import cached_asset, make_asset_proxy_read_only

#: A real asset the page loads, and a folder of real assets.
ASSET = "requirejs@2.3.6/require.js"
#: Folder URLs of the form that deleted folders, on a sacrificial folder the test makes.
PROBE = "minersim-test-probe"
HOSTILE = [f"{PROBE}/sub/", f"{PROBE}/sub", f"{PROBE}/sub/..", f"{PROBE}/sub/%2e%2e/", "../cdn"]


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    (tmp_path / "pkg@1.0.0" / "dist").mkdir(parents=True)
    (tmp_path / "pkg@1.0.0" / "dist" / "a.js").write_text("a")
    (tmp_path / "pkg@1.0.0" / "__main.js").write_text("main")
    (tmp_path.parent / "outside.js").write_text("outside")
    return tmp_path


def test_a_folder_is_not_found_and_stays(cache):
    for path in ("pkg@1.0.0/dist", "pkg@1.0.0/dist/", "pkg@1.0.0/dist/.."):
        with pytest.raises(FileNotFoundError):
            cached_asset(cache, path)
    assert (cache / "pkg@1.0.0" / "dist" / "a.js").read_text() == "a"


def test_files_below_the_cache_are_served_and_nothing_else(cache):
    assert cached_asset(cache, "pkg@1.0.0/dist/a.js").read_text() == "a"
    assert cached_asset(cache, "pkg@1.0.0").read_text() == "main"  # a bare package URL
    for path in ("../outside.js", "pkg@1.0.0/../../outside.js", "missing@1.0.0/x.js"):
        with pytest.raises((FileNotFoundError, PermissionError)):
            cached_asset(cache, path)


def test_the_patch_replaces_every_lookup_solara_uses():
    from solara.server import cdn_helper

    make_asset_proxy_read_only()
    import solara.server.starlette as server

    assert cdn_helper.get_path is cached_asset and server.get_path is cached_asset


# ---------------------------------------------------------------- a real server
@pytest.fixture(scope="module")
def assets_server(tmp_path_factory):
    """`minersim ui` on a free port of 127.0.0.1, with a sacrificial folder in its cache."""
    from solara.server.settings import assets

    cache = Path(assets.proxy_cache_dir)
    probe = cache / PROBE / "sub"
    probe.mkdir(parents=True, exist_ok=True)
    (probe / "x.js").write_text("x")
    log = tmp_path_factory.mktemp("assets") / "server.log"
    try:
        with serving(log, "--host", "127.0.0.1") as url:
            yield url, cache
    finally:
        (probe / "x.js").unlink(missing_ok=True)
        for folder in (probe, cache / PROBE):
            if folder.is_dir():
                folder.rmdir()


def get(url: str) -> tuple[int, bytes]:
    assert url.startswith("http://127.0.0.1:")
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_folder_request_to_a_real_server_deletes_nothing(assets_server):
    url, cache = assets_server
    for path in HOSTILE:
        status, _ = get(f"{url}_solara/cdn/{path}")
        assert status in (403, 404), path
        assert (cache / PROBE / "sub" / "x.js").read_text() == "x", f"GET {path} deleted it"
    assert get(f"{url}_solara/cdn/vega@5.21.0/build-es5/")[0] == 404  # a real folder: stays
    assert (cache / "vega@5.21.0" / "build-es5").is_dir()
    status, body = get(f"{url}_solara/cdn/{ASSET}")
    assert status == 200 and body == (cache / ASSET).read_bytes()
    assert get(f"{url}_solara/cdn/no-such-package@1.0.0/x.js")[0] == 404  # nothing fetched
    assert not (cache / "no-such-package@1.0.0").exists()
    status, page = get(url)
    assert status == 200 and b"<html" in page.lower()


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_the_page_loads_after_hostile_requests(page, assets_server):
    url, cache = assets_server
    for path in HOSTILE:
        get(f"{url}_solara/cdn/{path}")
    errors = _watch_for_errors(page)
    _open(page, url)
    assert (cache / PROBE / "sub" / "x.js").exists()
    assert not errors, errors
