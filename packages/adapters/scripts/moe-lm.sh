#!/usr/bin/env bash
# The character-level MoE language-model benchmark of packages/adapters/README.md: HyperRouter,
# SMoE-Dropout, SMoE and the dense model on the text8-style corpus (State of the Union, Brown,
# Moby-Dick), the same model size, step budget, seed and k schedule, two runs at a time (this
# machine has 2 cores). Each run resumes if its --out holds a checkpoint, so the script can be
# re-run after a kill.
# Results: runs/moe-lm/s<seed>/<router>/results.json; the table: node packages/adapters/scripts/moe-table.mjs
#   bash packages/adapters/scripts/moe-lm.sh [steps] [seed] [only: comma-separated routers]
set -euo pipefail
cd "$(dirname "$0")/../../.."
steps=${1:-1000}
seed=${2:-0}
only=${3:-}
out=runs/moe-lm/s$seed
mkdir -p "$out"
common="--steps $steps --seed $seed --backend wasm --checkpoint-every 50 --json"
run() {
  local router=$1
  local dir="$out/$router" flag=--overwrite
  [ -f "$dir/checkpoint.json" ] && [ ! -f "$dir/results.json" ] && flag=--resume
  [ -f "$dir/results.json" ] && { echo "$router: done"; return 0; }
  # shellcheck disable=SC2086
  node apps/cli/dist/bin.js moe lm --router "$router" $common --out "$dir" $flag > "$dir.json" 2> "$dir.log"
  echo "$router: $(cat "$dir.json")"
}
export -f run
export out common
for r in hyperrouter smoe-dropout smoe dense; do
  if [ -z "$only" ] || [[ ",$only," == *",$r,"* ]]; then printf '%s\n' "$r"; fi
done | xargs -P 2 -I{} bash -c 'run "$@"' _ {}
