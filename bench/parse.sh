#!/usr/bin/env bash
# Parse/serialize benchmark, Trunkline against Sippy, in one process (see bench/README.md).
# Builds bench/.venv-sippy on first use: Sippy from PyPI (SIPPY_VERSION, default 2.5.0) and
# Trunkline from this checkout (editable, without its dependencies: trunkline.sip needs only
# mypy-extensions, for its native integer types). Arguments go to bench/parse.py: --repeat N,
# --batch-ms MS, --quick, --profile [N].
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
venv=bench/.venv-sippy
sippy_version=${SIPPY_VERSION:-2.5.0}
stamp=$venv/.installed-sippy-$sippy_version
log=$venv/install.log

[ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "Installing sippy==$sippy_version and Trunkline into $venv ..." >&2
  if ! { "$venv/bin/python" -m pip install -q "sippy==$sippy_version" mypy-extensions &&
         "$venv/bin/python" -m pip install -q --no-deps -e .; } >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
  touch "$stamp"
fi
# The compiled core when the project's .venv can build it (scripts/setup made it);
# PURE=1 measures the plain-Python core instead (it removes the compiled modules from the
# checkout; scripts/compile-core builds them again).
if [ "${PURE:-}" = 1 ]; then
  scripts/compile-core --clean
elif [ -x .venv/bin/python ]; then
  scripts/compile-core
fi
exec "$venv/bin/python" bench/parse.py "$@"
