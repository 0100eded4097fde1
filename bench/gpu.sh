#!/usr/bin/env bash
# WebGPU training throughput at the reference shape (GPT: 4 layers, hidden 256, 4 heads, FFN 1024, seq 128,
# batch 32, vocab 8000), tokens/s. Runs unchanged on a machine with a real GPU: it needs `npm install` (the optional
# `webgpu` package, Dawn's Node bindings) and the GPU's driver (Linux: its Vulkan ICD). Extra arguments are passed on,
# e.g. `bench/gpu.sh --kind both --compare-wasm`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec npm run --silent bench:gpu -- "$@"
