#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run):
#   1. install what is missing (scripts/setup-deps.sh);
#   2. check the C formatting (scripts/check-format.sh), then build in build/
#      with warnings as errors;
#   3. ctest over every test (unit and script tests) in build/;
#   4. an address+undefined sanitizer build in build-asan/ running every test
#      but those of a real broker, the differential test and the stress test
#      (that is: unit, redis and kafka-mock tests);
#   4b. the libFuzzer targets of tests/fuzz/ (clang, build-fuzz/), each run
#      for CCP_FUZZ_SECONDS (default 20) by tests/fuzz/run.sh;
#   5. a thread sanitizer build in build-tsan/ running the `threads` label (the
#      test executables that start threads: the live pipeline on the mock
#      cluster, the stress test).
# Labels and the skip rule (exit 77 = skipped): tests/CMakeLists.txt, docs/testing.md.
# Exits non-zero on any failure. Logs go to build/test-logs/.
# CCP_TEST_JOBS sets ctest's parallelism (default 1: some tests start servers).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
logs=$root/build/test-logs
jobs=${CCP_TEST_JOBS:-1}
start=$SECONDS

step() { printf '\n==> %s (%ds)\n' "$*" $((SECONDS - start)); }

step "dependencies"
bash scripts/setup-deps.sh

mkdir -p "$logs"
echo "logs: $logs"

failed=()

step "format (scripts/check-format.sh)"
if ! bash scripts/check-format.sh 2>&1 | tee "$logs/format.log"; then
  failed+=("format")
fi

step "build (build/, -Werror)"
if ! bash scripts/build.sh build -DCCP_WERROR=ON >"$logs/build.log" 2>&1; then
  tail -n 60 "$logs/build.log"
  echo "test.sh: build failed; full log: $logs/build.log" >&2
  exit 1
fi

step "ctest: all tests (build/)"
if ! (cd build && ctest --output-on-failure --no-tests=error -j "$jobs") 2>&1 | tee "$logs/ctest.log"; then
  failed+=("ctest (build/)")
fi

step "build (build-asan/, address+undefined sanitizers)"
if bash scripts/build.sh build-asan -DCCP_SANITIZE=address -DCCP_WERROR=ON >"$logs/build-asan.log" 2>&1; then
  step "ctest: unit, redis and kafka-mock tests (build-asan/)"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  if ! (cd build-asan && ctest --output-on-failure --no-tests=error \
        -LE '^(integration|differential|stress)$' -j "$jobs") 2>&1 | tee "$logs/ctest-asan.log"; then
    failed+=("ctest (build-asan/)")
  fi
else
  tail -n 60 "$logs/build-asan.log"
  failed+=("build (build-asan/)")
fi

step "fuzz: each target of tests/fuzz ${CCP_FUZZ_SECONDS:-20}s under address+undefined (build-fuzz/)"
if ! bash tests/fuzz/run.sh 2>&1 | tee "$logs/fuzz.log"; then
  failed+=("fuzz (tests/fuzz/run.sh; inputs in $logs/fuzz/)")
fi

step "build (build-tsan/, thread sanitizer)"
if bash scripts/build.sh build-tsan -DCCP_SANITIZE=thread -DCCP_WERROR=ON >"$logs/build-tsan.log" 2>&1; then
  step "ctest: threads label (build-tsan/)"
  # tests/tsan.supp silences races inside librdkafka itself (docs/live.md)
  export TSAN_OPTIONS=${TSAN_OPTIONS:-suppressions=$root/tests/tsan.supp halt_on_error=1}
  if ! (cd build-tsan && ctest --output-on-failure --no-tests=error -L '^threads$' -j "$jobs") 2>&1 | tee "$logs/ctest-tsan.log"; then
    failed+=("ctest -L threads (build-tsan/)")
  fi
else
  tail -n 60 "$logs/build-tsan.log"
  failed+=("build (build-tsan/)")
fi

step "done"
echo "logs: $logs (build.log, ctest.log, build-asan.log, ctest-asan.log, fuzz.log, fuzz/, build-tsan.log, ctest-tsan.log);"
echo "      per-test output: build*/Testing/Temporary/LastTest.log"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'test.sh: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "test.sh: all passed in $((SECONDS - start))s"
