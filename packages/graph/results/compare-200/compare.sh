#!/usr/bin/env bash
# GHN-2 vs GHN-3 vs LoGAH at the same budget (200 steps, sampler, hid 32, lr 2e-3), then eval on the ID test split.
# Runs from any directory: it works in the repository root (four levels up from this script); the runs go to
# runs/ghn/ (ignored by git), and each run's results.json is copied here as <type>-train.json and
# <type>-eval-test.json with the paths the CLI recorded made relative to the repository root.
cd "$(dirname "$0")/../../../.." || exit 1
ROOT=$(pwd)
RES=packages/graph/results/compare-200
mkdir -p runs/ghn
# the CLI records absolute paths (it resolves --out and --ghn): strip the repository root from them
relative() { [ -f "$1" ] && ROOT="$ROOT" node -e 'const fs = require("node:fs"); const [src, dst] = process.argv.slice(1); fs.writeFileSync(dst, fs.readFileSync(src, "utf8").split(JSON.stringify(process.env.ROOT + "/").slice(0, -1)).join("\""));' "$1" "$2"; }
for t in ghn2 ghn3 logah; do
  O=runs/ghn/cmp-$t-200
  echo "=== $t train $(date -u +%FT%TZ)"
  pnpm -s hypernets ghn train --ghn-type $t --source sampler --steps 200 --hid 32 --lr 0.002 --backend wasm --checkpoint-every 25 --out $O --resume --json > $O.json 2>> $O.log
  echo "exit $? $(date -u +%FT%TZ)"
  pnpm -s hypernets ghn eval --ghn $O/ghn.safetensors --split test --archs 10 --test-samples 2000 --backend wasm --out $O/eval-test --json > $O.eval-test.json 2>> $O.log
  echo "eval exit $? $(date -u +%FT%TZ)"; tail -1 $O.eval-test.json | head -c 300; echo
  relative $O/results.json $RES/$t-train.json
  relative $O/eval-test/results.json $RES/$t-eval-test.json
done
echo done > runs/ghn/compare.done
