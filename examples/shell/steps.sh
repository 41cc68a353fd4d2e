#!/bin/sh
# A shell task that works in steps and checkpoints after each one through jr.
#   steps.sh NAME STEPS
# Its state is one file in JR_CHECKPOINT_DIR: jr restores it before a resumed attempt, so the
# task continues after the last step it saved. Each step appends "NAME STEP" to work.log in
# the current directory (to count redone steps); the result goes to out/NAME.
set -eu
name=$1
steps=$2
state="$JR_CHECKPOINT_DIR/step"
step=0
[ -f "$state" ] && step=$(cat "$state")
total=0
[ -f "$JR_CHECKPOINT_DIR/total" ] && total=$(cat "$JR_CHECKPOINT_DIR/total")
while [ "$step" -lt "$steps" ]; do
    step=$((step + 1))
    total=$((total + step * step))          # the "work" of this step
    echo "$name $step" >> work.log
    echo "$total" > "$JR_CHECKPOINT_DIR/total"
    echo "$step" > "$state"
    jr checkpoint save                       # durable once it returns
done
mkdir -p out
echo "$total" > "out/$name.tmp" && mv "out/$name.tmp" "out/$name"
