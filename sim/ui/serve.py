"""The page's server: solara's, with its asset proxy made read-only (``python -m sim.ui.serve``).

Solara serves its front-end files under ``/_solara/cdn/...`` from a cache in the environment
(``<venv>/share/solara/cdn``, filled by the ``solara-assets`` package, since the machine cannot
reach the public CDN). Its proxy deletes a cached *folder* that a request names (one GET to
``/_solara/cdn/vega@5.21.0/build/`` removed it for good), downloads missing files from the CDN and
writes them into the cache. Any web page the user visits while the UI runs could send such a
request. Here the proxy only reads: a request names a file below the cache (links inside it
are followed, ``..`` is refused), which is sent as it is; anything else is "404 Not Found", and
no request deletes, downloads or writes anything.

``minersim ui`` runs ``python -m sim.ui.serve run APP ...`` (the arguments of ``solara run``).
"""

from __future__ import annotations

import sys
from pathlib import Path

#: The file solara serves for a bare package URL (``requirejs@2.3.6`` -> its ``__main.js``).
PACKAGE_MAIN = "__main.js"


def cached_asset(base_cache_dir: Path, path: str) -> Path:
    """The cached file a ``/_solara/cdn/PATH`` request names; FileNotFoundError (a 404) if it
    is not a regular file below ``base_cache_dir``. Never changes the cache."""
    from solara.server.utils import path_is_child_of

    parts = path.replace("\\", "/").split("/")
    relative = Path(path) / PACKAGE_MAIN if len(parts) == 1 else Path(path)
    file = Path(base_cache_dir) / relative
    if not path_is_child_of(file, Path(base_cache_dir)) or not file.is_file():
        raise FileNotFoundError(f"no cached asset {path!r}")
    return file


def cached_asset_bytes(base_cache_dir: Path, path: str) -> bytes:
    """The content of :func:`cached_asset` (solara's Flask server reads assets this way)."""
    return cached_asset(base_cache_dir, path).read_bytes()


def make_asset_proxy_read_only() -> None:
    """Replace solara's cache lookups (which delete folders and download files) with
    :func:`cached_asset`; call it before the server starts."""
    from solara.server import cdn_helper

    cdn_helper.get_path = cached_asset
    cdn_helper.get_data = cached_asset_bytes
    server = sys.modules.get("solara.server.starlette")
    if server is not None:  # it imported get_path by name
        server.get_path = cached_asset


def main() -> None:
    """``solara`` with a read-only asset proxy; arguments as ``solara``'s."""
    make_asset_proxy_read_only()
    from solara.__main__ import main as solara_main

    sys.argv = ["solara", *sys.argv[1:]]
    solara_main()


if __name__ == "__main__":
    main()
