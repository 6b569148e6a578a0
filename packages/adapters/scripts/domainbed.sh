#!/usr/bin/env bash
# The DomainBed benchmark of packages/adapters/README.md: ERM and HMOE on RotatedMNIST (test
# environments 0° and 75°) and ColoredMNIST (test environment −90%), the same step budget, batch and
# seed, two runs at a time (this machine has 2 cores). Each run resumes if its --out holds a
# checkpoint, so the script can be re-run after a kill.
# Results: runs/domainbed/s<seed>/<dataset>-<env>-<algorithm>/results.json
#   bash packages/adapters/scripts/domainbed.sh [steps] [seed] [only: comma-separated run names]
set -euo pipefail
cd "$(dirname "$0")/../../.."
steps=${1:-600}
seed=${2:-0}
only=${3:-}
out=runs/domainbed/s$seed
mkdir -p "$out"
common="--steps $steps --seed $seed --backend wasm --json"
runs=(
  "rotated-mnist-0-erm|--dataset rotated-mnist --test-env 0 --algorithm erm"
  "rotated-mnist-0-hmoe|--dataset rotated-mnist --test-env 0 --algorithm hmoe"
  "rotated-mnist-75-erm|--dataset rotated-mnist --test-env 75 --algorithm erm"
  "rotated-mnist-75-hmoe|--dataset rotated-mnist --test-env 75 --algorithm hmoe"
  "colored-mnist-m90-erm|--dataset colored-mnist --test-env 2 --algorithm erm"
  "colored-mnist-m90-hmoe|--dataset colored-mnist --test-env 2 --algorithm hmoe"
)
run() {
  local name=${1%%|*} args=${1#*|}
  local dir="$out/$name" flag=--overwrite
  [ -f "$dir/checkpoint.json" ] && [ ! -f "$dir/results.json" ] && flag=--resume
  [ -f "$dir/results.json" ] && { echo "$name: done"; return 0; }
  # shellcheck disable=SC2086
  node apps/cli/dist/bin.js moe domainbed $args $common --out "$dir" $flag > "$dir.json" 2> "$dir.log"
  echo "$name: $(cat "$dir.json")"
}
export -f run
export out common
for r in "${runs[@]}"; do
  name=${r%%|*}
  if [ -z "$only" ] || [[ ",$only," == *",$name,"* ]]; then printf '%s\n' "$r"; fi
done | xargs -P 2 -I{} bash -c 'run "$@"' _ {}
