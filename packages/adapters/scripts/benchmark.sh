#!/usr/bin/env bash
# The multi-task benchmark of packages/adapters/README.md: every method on the same five real text
# tasks, the same step budget and seed, two runs at a time (this machine has 2 cores; wasm runs on
# one). Each run resumes if its --out holds a checkpoint, so the script can be re-run after a kill.
# (linear-lr1e-2: the probe at a probe's usual learning rate, next to the shared 3e-4;
# pha-no-spam: PHA without spam, the source of the few-shot transfer to spam, fewshot.sh;
# *-grid: Hyper-X's zero-shot on a held-out (task, corpus) pair, with the probe and HyperFormer++
# on the same grid; linear-lr1e-2-brown-continuation: the probe trained on that pair itself.)
# Results: runs/adapters-bench/s<seed>/<name>/results.json; the table: node packages/adapters/scripts/table.mjs
#   bash packages/adapters/scripts/benchmark.sh [steps] [seed] [only: comma-separated run names]
set -euo pipefail
cd "$(dirname "$0")/../../.."
steps=${1:-800}
seed=${2:-0}
only=${3:-}
export HYPERNETS_WEKA_EXAMPLES=${HYPERNETS_WEKA_EXAMPLES:-$(bash .ci/install-weka-data.sh)}
out=runs/adapters-bench/s$seed
mkdir -p "$out"
common="--steps $steps --eval-every 100 --seed $seed --backend wasm --json"
# Hyper-X's grid: the continuation task in three corpora and each corpus's own task; the
# (continuation, brown) pair is held out and classified zero-shot at the end.
grid="--tasks spam,sotu-party,brown-coarse,reuters-grain,spam-continuation,sotu-continuation,reuters-continuation --zero-shot brown-continuation"
runs=(
  "linear|--method linear"
  "adapters|--method adapters"
  "hyperformer|--method hyperformer"
  "hyperformer++|--method hyperformer++"
  "hyperformer++-p4|--method hyperformer++ --projected-dim 4"
  "hyperformer++-rescale|--method hyperformer++ --rescale"
  "finetune|--method finetune"
  "linear-lr1e-2|--method linear --lr 1e-2"
  "adapters-lr1e-3|--method adapters --lr 1e-3"
  "hyperformer++-lr1e-3|--method hyperformer++ --lr 1e-3"
  "pha|--method pha"
  "pha-no-spam|--method pha --tasks sotu-party,brown-coarse,reuters-grain,wordnet-gloss"
  "pha-rescale|--method pha --rescale"
  "pha-rescale-no-spam|--method pha --rescale --tasks sotu-party,brown-coarse,reuters-grain,wordnet-gloss"
  "hyperx-grid|--method hyperx $grid"
  "hyperformer++-grid|--method hyperformer++ $grid"
  "linear-lr1e-2-grid|--method linear --lr 1e-2 $grid"
  "linear-grid|--method linear $grid"
  "linear-lr1e-2-brown-continuation|--method linear --lr 1e-2 --tasks brown-continuation"
)
run() {
  local name=${1%%|*} args=${1#*|}
  local dir="$out/$name" flag=--overwrite
  [ -f "$dir/checkpoint.json" ] && [ ! -f "$dir/results.json" ] && flag=--resume
  [ -f "$dir/results.json" ] && { echo "$name: done"; return 0; }
  # shellcheck disable=SC2086
  node apps/cli/dist/bin.js adapters train $args $common --out "$dir" $flag > "$dir.json" 2> "$dir.log"
  echo "$name: $(cat "$dir.json")"
}
export -f run
export out common
for r in "${runs[@]}"; do
  name=${r%%|*}
  if [ -z "$only" ] || [[ ",$only," == *",$name,"* ]]; then printf '%s\n' "$r"; fi
done | xargs -P 2 -I{} bash -c 'run "$@"' _ {}
