#!/usr/bin/env bash
# GHN-2 vs GHN-3 vs LoGAH at the same budget (200 steps, sampler, hid 32, lr 2e-3), then eval on the ID test split
cd /work/main
for t in ghn2 ghn3 logah; do
  O=/work/main/runs/ghn/cmp-$t-200
  echo "=== $t train $(date -u +%FT%TZ)"
  pnpm -s hypernets ghn train --ghn-type $t --source sampler --steps 200 --hid 32 --lr 0.002 --backend wasm --checkpoint-every 25 --out $O --resume --json > $O.json 2>> $O.log
  echo "exit $? $(date -u +%FT%TZ)"
  pnpm -s hypernets ghn eval --ghn $O/ghn.safetensors --split test --archs 10 --test-samples 2000 --backend wasm --out $O/eval-test --json > $O.eval-test.json 2>> $O.log
  echo "eval exit $? $(date -u +%FT%TZ)"; tail -1 $O.eval-test.json | head -c 300; echo
done
echo done > /work/main/runs/ghn/compare.done
