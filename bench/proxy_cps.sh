#!/usr/bin/env bash
# Proxy-mode calls per second, Trunkline against Kamailio alternated in one run
# (see bench/README.md). Runs bench/proxy_cps.py with the repo's .venv when there is one
# (else python3, or $PYTHON); that Python also runs Trunkline. Options: --quick,
# --max-rate N, --rates 100,200,..., --seconds S, --keep DIR, --profile [RATE], --help.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x .venv/bin/python ]; then PY=.venv/bin/python
else PY=python3
fi
exec "$PY" bench/proxy_cps.py "$@"
