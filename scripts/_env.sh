# Shared set-up for scripts/main and scripts/test: find Python >= 3.12, create .venv inside the
# checkout, install the project (only when pyproject.toml changed since the last install).
# Sourced, not executed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
export SOLARA_TELEMETRY_MIXPANEL_ENABLE=False

python_ok() {  # $1: interpreter; true when it runs and is >= 3.12
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
  local candidate
  if [ -n "${MINERSIM_PYTHON:-}" ]; then
    python_ok "$MINERSIM_PYTHON" && { echo "$MINERSIM_PYTHON"; return 0; }
    echo "MINERSIM_PYTHON=$MINERSIM_PYTHON is not a Python >= 3.12" >&2; return 1
  fi
  for candidate in python3.13 python3.12 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
      command -v "$candidate"; return 0
    fi
  done
  # pyenv keeps 3.12/3.13 installed but its shims only answer for the global version.
  if command -v pyenv >/dev/null 2>&1; then
    for candidate in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])' | sort -rV); do
      local prefix; prefix="$(pyenv prefix "$candidate" 2>/dev/null)" || continue
      python_ok "$prefix/bin/python3" && { echo "$prefix/bin/python3"; return 0; }
    done
  fi
  return 1
}

ensure_venv() {  # $1: extras to install ("" or "test")
  local extras="${1:-}" stamp="$VENV/.minersim-installed" want
  want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)-${extras}"
  if [ -x "$VENV/bin/python" ] && python_ok "$VENV/bin/python" && [ -f "$stamp" ] \
     && grep -qx -- "$want" "$stamp" 2>/dev/null; then
    return 0
  fi
  if ! [ -x "$VENV/bin/python" ] || ! python_ok "$VENV/bin/python"; then
    local py
    if ! py="$(find_python)"; then
      cat >&2 <<MSG
minersim needs Python >= 3.12 (Mesa 3.5 requires it) and none was found.
Install one, for example:
  Debian/Ubuntu:  sudo apt-get install python3.13 python3.13-venv   (or python3.12)
  pyenv:          pyenv install 3.12
  any OS:         https://www.python.org/downloads/
or point the set-up at one:  MINERSIM_PYTHON=/path/to/python3.12 $0
MSG
      exit 3
    fi
    echo "minersim: creating $VENV with $py ($("$py" --version 2>&1))"
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
  fi
  echo "minersim: installing the project into .venv (first run takes about 2 minutes)"
  local target="$ROOT"; [ -n "$extras" ] && target="$ROOT[$extras]"
  # Some machines' pip.conf names local indexes that may be absent: hide only those warnings.
  "$VENV/bin/python" -m pip install --quiet --upgrade pip 2>&1 | { grep -v "^WARNING: Location" || true; }
  # setuptools warns that folders named like the package may shadow it in an editable install:
  # here the checkout's sim/ is the package itself, so the warning says nothing to act on.
  if ! PYTHONWARNINGS="ignore:Editable installation" "$VENV/bin/python" -m pip install --quiet -e "$target" 2>&1 \
       | { grep -v "^WARNING: Location" || true; }; then
    echo "minersim: pip install failed (see above)" >&2; exit 1
  fi
  # Solara's offline assets: Altair needs unversioned links beside the pinned bundles.
  local cdn="$VENV/share/solara/cdn"
  if [ -d "$cdn" ]; then
    for pair in "vega@5:vega@5.21.0" "vega-lite@5:vega-lite@5.2.0" "vega-embed@6:vega-embed@6.20.2"; do
      [ -e "$cdn/${pair%%:*}" ] || [ ! -e "$cdn/${pair#*:}" ] || ln -s "${pair#*:}" "$cdn/${pair%%:*}"
    done
  fi
  # A test install also satisfies the plain one. (An if, not `[ ... ] && echo`: under set -e a
  # false test as the last command of the group would stop the calling script.)
  {
    echo "$want"
    if [ -n "$extras" ]; then echo "${want%-*}-"; fi
  } > "$stamp"
}
