#!/usr/bin/env bash
# Data-parallel scaling of the training step: each task and base optimizer trains the
# same global batches as one process and as N ranks (Gloo over loopback, the ranks
# started by this script through torchrun's environment variables), and the table gives
# the seconds per step (forward, backward, all-reduce, optimizer; no evaluation), the
# scaling efficiency T1 / (N * T_N), the share of T_N spent inside collectives (waiting
# for the slower rank included), and the optimizer state each rank holds.
#
#   bazel run //benchmarks:data_parallel_benchmark -- [--steps=40] [--ranks=2]
#       [--tasks=lm_pretrain,vit_classification] [--optimizers=adamw,muon] [--preset=quick]
#       [--json=results/data_parallel.json]
#
# Exit codes: 0 done, 2 bad input, 1 a run failed. Needs jq and python3 (a free port).
set -euo pipefail

die() { echo "error: $2" >&2; exit "$1"; }

steps=40 ranks=2 preset=quick json=""
tasks=lm_pretrain,vit_classification optimizers=adamw,muon
for arg in "$@"; do
  case "$arg" in
    --steps=*) steps=${arg#*=} ;;
    --ranks=*) ranks=${arg#*=} ;;
    --tasks=*) tasks=${arg#*=} ;;
    --optimizers=*) optimizers=${arg#*=} ;;
    --preset=*) preset=${arg#*=} ;;
    --json=*) json=${arg#*=} ;;
    *) die 2 "unknown argument $arg (allowed: --steps --ranks --tasks --optimizers --preset --json)" ;;
  esac
done
[[ "$steps" =~ ^[1-9][0-9]*$ ]] || die 2 "--steps=$steps: an integer >= 1"
[[ "$ranks" =~ ^[2-9]$|^[1-9][0-9]+$ ]] || die 2 "--ranks=$ranks: an integer >= 2"
command -v jq >/dev/null || die 1 "jq is not installed (Debian package jq)"

bin_dir=${RUNFILES_DIR:-$0.runfiles}/gradient_smoothing/tasks
if [[ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]]; then cd "$BUILD_WORKSPACE_DIRECTORY"; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run <task> <optimizer> <world> <out>: trains and leaves run.json in <out>.
run() {
  local task=$1 optimizer=$2 world=$3 out=$4 port pids=() r
  local flags=(--preset="$preset" --optimizer="$optimizer" --steps="$steps" --eval_every="$steps"
               --checkpoint_every=$((steps + 1)) --out="$out")
  [[ -x "$bin_dir/$task" ]] || die 2 "--tasks: no task binary $task"
  if [[ "$world" -eq 1 ]]; then
    OMP_NUM_THREADS=1 "$bin_dir/$task" "${flags[@]}" 2>"$out.log" || die 1 "$task ($optimizer, 1 process) failed: $(tail -1 "$out.log")"
    return
  fi
  port=$(free_port)
  for ((r = 0; r < world; r++)); do
    RANK=$r LOCAL_RANK=$r WORLD_SIZE=$world MASTER_ADDR=127.0.0.1 MASTER_PORT=$port OMP_NUM_THREADS=1 \
      "$bin_dir/$task" "${flags[@]}" 2>"$out.rank$r.log" &
    pids+=($!)
  done
  for ((r = 0; r < world; r++)); do
    wait "${pids[$r]}" || die 1 "$task ($optimizer, rank $r of $world) failed: $(tail -1 "$out.rank$r.log")"
  done
}

rows=()
printf '%-20s %-6s %10s %10s %10s %11s %14s %14s\n' task opt "T1 s/step" "T${ranks} s/step" efficiency "comm share" "state B (N=1)" "state B/rank"
for task in ${tasks//,/ }; do
  for optimizer in ${optimizers//,/ }; do
    one="$work/$task-$optimizer-1" many="$work/$task-$optimizer-$ranks"
    run "$task" "$optimizer" 1 "$one"
    run "$task" "$optimizer" "$ranks" "$many"
    row=$(jq -n --arg task "$task" --arg optimizer "$optimizer" --argjson n "$ranks" \
      --slurpfile a "$one/run.json" --slurpfile b "$many/run.json" '
      {task: $task, optimizer: $optimizer, ranks: $n,
       t1_seconds_per_step: $a[0].seconds_per_step, tn_seconds_per_step: $b[0].seconds_per_step,
       efficiency: ($a[0].seconds_per_step / ($n * $b[0].seconds_per_step)),
       communication_share: ($b[0].communication_seconds_per_step / $b[0].seconds_per_step),
       optimizer_state_bytes_one: $a[0].optimizer_state_bytes,
       optimizer_state_bytes_per_rank: $b[0].optimizer_state_bytes}')
    rows+=("$row")
    jq -r '[.task, .optimizer, (.t1_seconds_per_step | .*10000 | round / 10000),
            (.tn_seconds_per_step | .*10000 | round / 10000), (.efficiency | .*1000 | round / 1000),
            (.communication_share | .*1000 | round / 1000), .optimizer_state_bytes_one,
            .optimizer_state_bytes_per_rank] | @tsv' <<<"$row" |
      awk -F'\t' '{printf "%-20s %-6s %10s %10s %10s %11s %14s %14s\n", $1, $2, $3, $4, $5, $6, $7, $8}'
  done
done
if [[ -n "$json" ]]; then
  mkdir -p "$(dirname "$json")"
  printf '%s\n' "${rows[@]}" | jq -s --arg machine "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" \
    --arg date "$(date -u +%FT%TZ)" '{machine: $machine, date: $date, results: .}' >"$json"
  echo "wrote $json"
fi
