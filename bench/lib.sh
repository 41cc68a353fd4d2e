# shellcheck shell=bash
# bench/lib.sh — helpers shared by the bench/ scripts (sourced, not run).
#
# A script that sources this sets NAME (for its messages) first. Times are seconds with
# microsecond resolution ($EPOCHREALTIME); figures are computed with awk.

die() { echo "bench: ${NAME:-bench}: $*" >&2; exit 1; }
note() { echo "bench: ${NAME:-bench}: $*" >&2; }

now() { echo "$EPOCHREALTIME"; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a - b }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.2f", s * 1000 }'; }                  # seconds → ms
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
verdict() { if "$@"; then echo "ok"; else echo "MISSED"; fi; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# JR_BIN and JRD_BIN from BUILD_DIR, made absolute; the caller checks the ones it needs.
set_binaries() {
  local build=$1
  JR_BIN=$(cd "$build" 2>/dev/null && pwd)/cli/jr
  JRD_BIN=$(cd "$build" 2>/dev/null && pwd)/daemon/jrd
}

# Reads numbers, one a line; prints "count median p99 max" (nearest rank: the ⌈q·n⌉-th smallest).
percentiles() {
  sort -g | awk '{ v[NR] = $1 }
    function rank(q,   r) { r = int(q * NR); if (r < q * NR) r++; if (r < 1) r = 1; return v[r] }
    END { if (NR == 0) { print "0 - - -"; exit } printf "%d %s %s %s\n", NR, rank(0.5), rank(0.99), v[NR] }'
}

# kB of a process's VmRSS and VmHWM: "RSS HWM" (empty when it is gone).
vm_kb() { awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { if (r != "") print r, h }' "/proc/$1/status" 2>/dev/null || true; }
kb_mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# start_jrd DIR WORKERS [jrd options…]: starts jrd with its state in DIR/state, its socket
# DIR/sock and its log DIR/jrd.log; sets JRD_PID and JRD_SOCK and waits until it answers.
# The caller's EXIT trap must call stop_jrd.
JRD_PID=""
start_jrd() {
  local dir=$1 workers=$2 i
  shift 2
  JRD_SOCK="$dir/sock"
  "$JRD_BIN" --state "$dir/state" --socket "$JRD_SOCK" --workers "$workers" "$@" >"$dir/jrd.log" 2>&1 &
  JRD_PID=$!
  for ((i = 0; i < 200; i++)); do
    "$JR_BIN" ping --socket "$JRD_SOCK" >/dev/null 2>&1 && return 0
    kill -0 "$JRD_PID" 2>/dev/null || { cat "$dir/jrd.log" >&2; JRD_PID=""; die "jrd exited at start"; }
    sleep 0.05
  done
  cat "$dir/jrd.log" >&2
  die "jrd did not answer at $JRD_SOCK within 10 s"
}
# stop_jrd: SIGTERM to the jrd this script started (by its pid), then wait for it; SIGKILL after 30 s.
stop_jrd() {
  [[ -n $JRD_PID ]] || return 0
  local pid=$JRD_PID i
  JRD_PID=""
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 600; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$pid" 2>/dev/null && { note "jrd $pid still there 30 s after SIGTERM: SIGKILL"; kill -KILL "$pid" 2>/dev/null; }
  wait "$pid" 2>/dev/null || true
}
