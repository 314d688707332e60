#!/usr/bin/env bash
# The GPU run on a machine that already holds torch and onnxruntime-gpu (the project's lent GPU machine:
# no network, its python3 with torch 2.x+cu13, onnxruntime-gpu installed beside it, see README "GPU").
#
#   tools/lent-gpu.sh DEST [extra `python -m matrix gpu` arguments]
#
# Runs the corpus on onnxruntime's CUDA and CPU providers side by side and replays every era's exported
# files from results/ on both, then packs the out folder into DEST/gpu-run.tar.gz (one file: a lent
# machine returns at most 8) with the log beside it. Back here:
#   mkdir -p reports-gpu && tar xzf gpu-run.tar.gz -C reports-gpu
#   python3 -m matrix publish --from reports-gpu --env <the id printed below>
set -euo pipefail
dest=${1:?usage: tools/lent-gpu.sh DEST [matrix gpu arguments]}
shift
cd "$(dirname "$0")/.."
# PYTHON runs the cells (torch, onnx, onnxruntime-gpu); HOST_PYTHON the harness (pandas, jinja2, rich):
# on the lent machine both are its python3
python=${PYTHON:-$(command -v python3)}
host=${HOST_PYTHON:-python3}
# import torch first: its CUDA libraries are the ones onnxruntime-gpu loads
"$python" -c "import torch, onnxruntime as o; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'gpu', torch.cuda.is_available() and torch.cuda.get_device_name(0)); print('onnxruntime', o.__version__, o.get_available_providers())"
gpu=$( (nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || true) | head -n1 \
      | sed 's/NVIDIA //; s/[^A-Za-z0-9]\+/-/g; s/-$//' | tr 'A-Z' 'a-z')
torch=$("$python" -c "import torch; print(torch.__version__.split('+')[0])")
env_id=${ENV_ID:-gpu-${gpu:-none}-torch-${torch}}
out=${GPU_OUT:-/tmp/gpu-out}
mkdir -p "$dest"
echo "environment id: $env_id; rows into $out"
status=0
PYTHONUNBUFFERED=1 "$host" -m matrix gpu --python "$python" --env-id "$env_id" --out "$out" "$@" \
  2>&1 | tee "$dest/gpu-run.log" || status=$?
# rows, catalogues, logs and this run's own exported files (replays keep only rows: results/ holds their files)
[ -d "$out/runs" ] && tar czf "$dest/gpu-run.tar.gz" -C "$out" runs
ls -l "$dest"
exit "$status"
