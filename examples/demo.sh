#!/bin/sh
# The demo behind `make run`: a job of 40 tasks, interrupted half-way, then resumed.
# Usage: examples/demo.sh BUILD_DIR
set -eu
build=${1:-build}
jr="$(cd "$build" && pwd)/cli/jr"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "== jr run: 40 tasks, 4 at a time; each squares its input after a short nap"
echo "   (the first run is stopped with SIGTERM once 15 tasks have finished)"
"$jr" run -j 4 --shell -- 'sleep 0.1; echo $(( {} * {} )) > out-{}.txt' ::: $(seq 1 40) &
pid=$!
while [ "$(ls out-*.txt 2>/dev/null | wc -l)" -lt 15 ]; do sleep 0.05; done
kill -TERM $pid
status=0
wait $pid || status=$?
echo "   first run exited $status (143: interrupted, resume me)"

echo "== what running it again would do (jr run --explain: nothing runs)"
"$jr" run --explain -j 4 --shell -- 'sleep 0.1; echo $(( {} * {} )) > out-{}.txt' ::: $(seq 1 40) | tail -n 1

echo "== the same command again resumes: finished tasks are skipped"
"$jr" run -j 4 --shell -- 'sleep 0.1; echo $(( {} * {} )) > out-{}.txt' ::: $(seq 1 40)
echo "   exit $?"

echo "== the result: sum of squares 1..40 = $(cat out-*.txt | paste -sd+ | bc 2>/dev/null || awk '{s+=$1} END {print s}' out-*.txt)"
echo "== what jr recorded (jr stats):"
"$jr" stats | head -n 8
