#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang and the address +
# undefined sanitizers in build-fuzz/, then runs each for a bounded time from
# its seed corpus (tests/fuzz/corpus/<t>/) and regression inputs
# (tests/fuzz/regressions/<t>/). Fails on any crash, sanitizer report, leak,
# timeout or failed check; the input that did it is kept as
# build/test-logs/fuzz/<t>-crash-* (or -leak-, -timeout-, -oom-).
#   bash tests/fuzz/run.sh [target...]        (default: every target)
# Environment:
#   CCP_FUZZ_SECONDS  seconds per target (default 20; scripts/test.sh uses it)
#   CCP_FUZZ_BUILD    build directory (default build-fuzz)
#   CCP_FUZZ_ARGS     extra libFuzzer flags, e.g. "-jobs=2 -workers=2"
# New inputs that reach new code go to build-fuzz/fuzz-corpus/<t>/, never into
# the committed corpus. How to fuzz one target longer: docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build=${CCP_FUZZ_BUILD:-build-fuzz}
secs=${CCP_FUZZ_SECONDS:-20}
logs=$root/build/test-logs/fuzz
all=(avro confluent ocf jsonl config redis_url rules)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

# Longest input per target: a record, a file, a config, a URL, a rule set.
max_len() {
  case $1 in
    ocf) echo 65536 ;;
    jsonl | config) echo 16384 ;;
    redis_url) echo 2048 ;;
    *) echo 4096 ;;
  esac
}

command -v clang >/dev/null || { echo "fuzz: clang not found (scripts/setup-deps.sh)" >&2; exit 1; }
mkdir -p "$logs"
if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^CMAKE_C_COMPILER_ID:.*Clang\|^CMAKE_C_COMPILER:.*clang' "$build/CMakeCache.txt"; then
  echo "fuzz: $build was configured with another compiler; remove it" >&2
  exit 1
fi
echo "fuzz: building ${targets[*]} in $build/ (log: $logs/build.log)"
if ! { CC=clang cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
         -DCCP_FUZZ=ON -DCCP_SANITIZE=address -DCCP_WERROR=ON &&
       cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" \
         --target "${targets[@]/#/fuzz_}"; } >"$logs/build.log" 2>&1; then
  tail -n 40 "$logs/build.log"
  echo "fuzz: build failed" >&2
  exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "${targets[@]}"; do
  work=$build/fuzz-corpus/$t
  mkdir -p "$work"
  dirs=("$work" "tests/fuzz/corpus/$t")
  [ -d "tests/fuzz/regressions/$t" ] && dirs+=("tests/fuzz/regressions/$t")
  # shellcheck disable=SC2086 # CCP_FUZZ_ARGS is a list of flags
  if "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len="$(max_len "$t")" \
       -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$logs/$t-" ${CCP_FUZZ_ARGS:-} "${dirs[@]}" >"$logs/$t.log" 2>&1; then
    printf 'fuzz: %-10s ok   %s\n' "$t" "$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$t.log" | grep -o '[0-9]*$' || echo '?') runs, $(ls "$work" | wc -l) new inputs"
  else
    printf 'fuzz: %-10s FAILED (log: %s)\n' "$t" "$logs/$t.log"
    grep -m 3 -E 'ERROR: |runtime error|fuzz check failed|Test unit written' "$logs/$t.log" || tail -n 20 "$logs/$t.log"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}; reproduce with $build/tests/fuzz/fuzz_<t> <input>, then fix," >&2
  echo "      and add the input to tests/fuzz/regressions/<t>/ (docs/testing.md)" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${secs}s each without a failure"
