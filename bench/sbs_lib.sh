# Shared by the side-by-side scripts (bench/catchup_sbs.sh, bench/live_sbs.sh,
# bench/idle_sbs.sh);
# sourced from the repository root, with `set -euo pipefail`.
#
# sbs_start NAME: a work directory, a broker (scripts/kafka.sh) and Redis
# (scripts/redis.sh) on loopback, stopped and removed on exit (with every pid
# in `pids`); sets work, B (bootstrap) and URL (redis://...).
# sbs_medians OUT FIELD FORMAT VARIANT...: the median of a column per variant.
# sbs_ratios OUT FIELD VARIANT...: per variant, the median ratio to the first.
# sbs_variant V: splits a variant `BIN` or `BIN:key=value[,key=value...]`
# into bin and sets (the --set flags).
# sbs_catchup_topic N BIN: the topic `cu` of a catch-up, 8 partitions with N
# events of `BIN gen --seed 1`, and its dead-letter topic.
pids=()
sbs_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bash scripts/kafka.sh stop --dir "$work/kafka" >/dev/null 2>&1 || true
  bash scripts/redis.sh stop --dir "$work/redis" >/dev/null 2>&1 || true
  rm -rf "$work"
}
sbs_start() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/ccpulse-$1.XXXXXX")
  trap sbs_cleanup EXIT
  trap 'exit 130' INT TERM
  local out
  out=$(bash scripts/kafka.sh start --dir "$work/kafka") || { echo "kafka.sh: $out" >&2; exit 1; }
  B=$(sed -n 's/^BOOTSTRAP=//p' <<<"$out")
  out=$(bash scripts/redis.sh start --dir "$work/redis") || { echo "redis.sh: $out" >&2; exit 1; }
  URL=$(sed -n 's/^REDIS=//p' <<<"$out")
}
sbs_catchup_topic() {
  bash scripts/kafka.sh topic create cu --partitions 8 --bootstrap "$B" --dir "$work/kafka" >/dev/null
  # its dead-letter topic: `gen` writes some out-of-range events (docs/kpis.md §7), and
  # without the topic (the broker creates none) a cycle could not commit
  bash scripts/kafka.sh topic create cu.dlq --partitions 1 --bootstrap "$B" --dir "$work/kafka" >/dev/null
  "$2" gen --events "$1" --seed 1 --brokers "$B" --topic cu >/dev/null
}
sbs_variant() {
  bin=${1%%:*} sets=()
  if [ "$bin" != "$1" ]; then
    local kvs kv
    IFS=, read -ra kvs <<<"${1#*:}"
    for kv in "${kvs[@]}"; do sets+=(--set "$kv"); done
  fi
}
# sbs_medians OUT FIELD FORMAT VARIANT...: per variant, the median of column
# FIELD over OUT's lines "round R VARIANT ..." (column 3 the variant),
# printed with the printf FORMAT (e.g. "%.4f core").
sbs_medians() {
  local out=$1 field=$2 fmt=$3 v
  shift 3
  for v in "$@"; do
    awk -v v="$v" -v f="$field" '$3 == v { print $f }' "$out" | sort -g |
      awk -v v="$v" -v fmt="$fmt" '{ a[NR] = $1 } END {
        printf "  %-60s " fmt "\n", v, (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
  done
}
# sbs_ratios OUT FIELD VARIANT...: per variant after the first, the median
# over rounds of column FIELD divided by the first variant's in the same
# round (OUT's lines "round R VARIANT ...", column 2 the round).
sbs_ratios() {
  local out=$1 field=$2 first=$3 v
  shift 2
  for v in "${@:2}"; do
    awk -v a="$first" -v v="$v" -v f="$field" '$3 == a { x[$2] = $f } $3 == v { y[$2] = $f }
      END { for (r in y) if ((r in x) && x[r] > 0) print y[r] / x[r] }' "$out" | sort -g |
      awk -v v="$v" '{ a[NR] = $1; s = s sprintf(" %.3f", $1) } END {
        if (NR) printf "  %-60s %.3f  (%s )\n", v, (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, s }'
  done
}
