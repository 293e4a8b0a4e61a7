#!/usr/bin/env bash
# labels: kafka-mock redis
#
# The wall in headless Chromium (tests/wall_browser.py): `ccpulse demo`
# against a scripts/redis.sh server, the page's figures against the tiles in
# Redis, a hostile queue name shown as text, alerts within 1 s, the stale
# mark when Redis stops; screenshot in <build-dir>/test-logs/wall.png.
# Usage: bash t_wall_browser.sh <ccpulse-binary> <build-dir>
set -u
exec timeout 120 python3 "$(dirname "$0")/wall_browser.py" "$@"
