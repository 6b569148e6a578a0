#!/usr/bin/env bash
# Hyper-adapters' rescaling (Baziotis et al. 2022): HyperFormer++ with a wide generator input
# (projected dim 512) with and without scaling every generated tensor by 1/√512, same tasks, seed
# and steps; the loss curves go into one plot (scripts/rescale-plot.mjs). Resumable like benchmark.sh.
#   bash packages/adapters/scripts/rescale.sh [steps] [seed]
set -euo pipefail
cd "$(dirname "$0")/../../.."
steps=${1:-400}
seed=${2:-0}
export HYPERNETS_WEKA_EXAMPLES=${HYPERNETS_WEKA_EXAMPLES:-$(bash .ci/install-weka-data.sh)}
out=runs/adapters-rescale/s$seed
mkdir -p "$out"
run() {
  local name=$1
  shift
  local dir="$out/$name" flag=--overwrite
  [ -f "$dir/results.json" ] && { echo "$name: done"; return 0; }
  [ -f "$dir/checkpoint.json" ] && flag=--resume
  node apps/cli/dist/bin.js adapters train --method hyperformer++ --projected-dim 512 "$@" \
    --steps "$steps" --eval-every 100 --seed "$seed" --backend wasm --json --out "$dir" $flag > "$dir.json" 2> "$dir.log"
  echo "$name: $(cat "$dir.json")"
}
run plain &
run rescaled --rescale &
wait
