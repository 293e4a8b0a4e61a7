#!/usr/bin/env bash
# labels: unit
# Self-test of the Python reference engine (tests/reference/ref_engine.py):
# hand-worked event files with the numbers KPIS.md and docs/semantics.md give.
# Arguments (ccpulse binary, build dir) are passed by CTest and not needed.
set -euo pipefail
cd "$(dirname "$0")/reference"
export PYTHONDONTWRITEBYTECODE=1
exec python3 -m unittest -q test_ref_engine test_compare
