#!/usr/bin/env bash
# LoGAH alone, from scratch, as in compare.sh (which see: runs from any directory, in the repository root;
# results copied here with paths relative to the repository root).
cd "$(dirname "$0")/../../../.." || exit 1
ROOT=$(pwd)
RES=packages/graph/results/compare-200
mkdir -p runs/ghn
relative() { [ -f "$1" ] && ROOT="$ROOT" node -e 'const fs = require("node:fs"); const [src, dst] = process.argv.slice(1); fs.writeFileSync(dst, fs.readFileSync(src, "utf8").split(JSON.stringify(process.env.ROOT + "/").slice(0, -1)).join("\""));' "$1" "$2"; }
t=logah; O=runs/ghn/cmp-$t-200
rm -rf $O; : > $O.log
echo "=== $t train $(date -u +%FT%TZ)"
pnpm -s hypernets ghn train --ghn-type $t --source sampler --steps 200 --hid 32 --lr 0.002 --backend wasm --checkpoint-every 25 --out $O --resume --json > $O.json 2>> $O.log
echo "exit $? $(date -u +%FT%TZ)"
pnpm -s hypernets ghn eval --ghn $O/ghn.safetensors --split test --archs 10 --test-samples 2000 --backend wasm --out $O/eval-test --json > $O.eval-test.json 2>> $O.log
echo "eval exit $? $(date -u +%FT%TZ)"; tail -1 $O.eval-test.json | head -c 300; echo
relative $O/results.json $RES/$t-train.json
relative $O/eval-test/results.json $RES/$t-eval-test.json
echo done > runs/ghn/compare.done
