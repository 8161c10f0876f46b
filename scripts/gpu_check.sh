#!/usr/bin/env bash
# GPU check (#15 item 13), <= 5 minutes on a machine with one NVIDIA GPU:
#   1. installs seaembed with the gpu extra (vLLM and its CUDA torch) from PyPI into its own venv,
#   2. serves the packaged model through the vLLM backend in bf16 and in FP8 and writes cosine parity against torch
#      fp32 and texts/s against torch fp32 on the same GPU,
#   3. runs a few DDP training steps over NCCL (torchrun --nproc-per-node 1),
#   4. writes benchmarks/results/gpu_check.{json,md}.
# Any broken step fails the script (non-zero exit): no GPU, a failed install, low parity, a failed NCCL step.
#   bash scripts/gpu_check.sh [VENV_DIR]      (default VENV_DIR: .gpu-venv; SEAEMBED_GPU_CHECK_SKIP_INSTALL=1 reuses it)
set -euo pipefail

cd "$(dirname "$0")/.."
VENV="${1:-.gpu-venv}"
PARTS="$(mktemp -d)"
MODEL="${SEAEMBED_GPU_CHECK_MODEL:-packaged:multilingual-e5-small}"

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "GPU CHECK FAILED: no NVIDIA GPU (nvidia-smi missing or sees no device)" >&2
  exit 1
fi
nvidia-smi -L

if [[ "${SEAEMBED_GPU_CHECK_SKIP_INSTALL:-0}" != "1" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[gpu]'
fi
PY="$VENV/bin/python"
"$PY" -c "import torch, vllm; assert torch.cuda.is_available(), 'torch sees no CUDA GPU'; print('torch', torch.__version__, 'vllm', vllm.__version__, torch.cuda.get_device_name(0))"

# each vLLM variant in its own process: vLLM does not hand GPU memory back within one
timeout 100 "$PY" scripts/gpu_check.py serve --variant bf16 --model "$MODEL" --out "$PARTS"
timeout 100 "$PY" scripts/gpu_check.py serve --variant fp8 --model "$MODEL" --out "$PARTS"
timeout 80 "$VENV/bin/torchrun" --nproc-per-node 1 scripts/gpu_check.py train --dist-backend nccl --model "$MODEL" --out "$PARTS"
"$PY" scripts/gpu_check.py report --out "$PARTS"
echo "GPU check passed: benchmarks/results/gpu_check.md"
