#!/usr/bin/env bash
# Rebuild the demo dataset from the demo repository's history: mine, then validate.
#   bash scripts/build_demo_dataset.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=src/swegym/plugins/repos/demo/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
repo=$(python -m swegym.plugins.repos.demo.build)   # the history, replayed from $data/tinyver
swegym mine --repo-path "$repo" --repo swegym/tinyver --issues "$data/issues.json" --out "$tmp/mined.jsonl"
swegym validate --dataset "$tmp/mined.jsonl" --out "$data/instances.jsonl" --runtime "${RUNTIME:-local}" --workers "${WORKERS:-2}"
