#!/usr/bin/env bash
# Regenerates the seed corpora tests/fuzz/corpus/<target>/seed-* with the
# fuzz_seeds tool of a build (default build/). Files of other names in
# corpus/ (inputs worth keeping that the fuzzers found) are left alone.
#   bash tests/fuzz/gen-corpus.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
cmake --build "$build" --target fuzz_seeds
rm -f tests/fuzz/corpus/*/seed-*
"$build/tests/fuzz/fuzz_seeds" tests/fuzz/corpus
ls tests/fuzz/corpus/* | head -100 | tr '\n' ' '; echo
