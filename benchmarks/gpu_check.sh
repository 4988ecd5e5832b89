#!/usr/bin/env bash
# The GPU issue's checks in one run: bash benchmarks/gpu_check.sh OUTDIR  (at most 8 minutes on one GPU)
#
# Writes OUTDIR/gpu_check.json and OUTDIR/gpu_check.md (device, torch and driver versions, every step's
# numbers) and each step's log; see benchmarks/gpu_check.py for the steps. On a machine without a package
# registry the packages gansweep needs beyond torch and Lightning come from gpu_bundle/ (made here by
# `python benchmarks/gpu_bundle.py`, carried over in parts: see its docstring): wheels installed with
# --no-index, the TF-Inception file reassembled from its parts and checked against its SHA-256, and the
# prepared digits. GANSWEEP_GPU_CHECK_CPU=1 runs the same steps on the CPU at a tiny size.
set -euo pipefail
out="$(realpath -m "${1:?usage: bash benchmarks/gpu_check.sh OUTDIR}")"
root="$(cd "$(dirname "$0")/.." && pwd)"
bundle="$root/gpu_bundle"
python="${PYTHON:-python3}"
mkdir -p "$out"

if [ -d "$bundle/wheels" ] && ! "$python" -c "import mlflow, optuna, pydantic" 2>/dev/null; then
  echo "installing $(ls "$bundle/wheels" | wc -l) wheels from $bundle/wheels"
  "$python" -m pip install -q --no-index --find-links "$bundle/wheels" -r "$bundle/requirements.txt"
fi
if ls "$bundle"/inception.part-* >/dev/null 2>&1; then
  cat "$bundle"/inception.part-* > "$bundle/default_1.pt"
  (cd "$bundle" && sha256sum -c inception.sha256)
  export GANSWEEP_INCEPTION="$bundle/default_1.pt"
fi
if [ -f "$bundle/train.npz" ]; then
  export GANSWEEP_DIGITS="$bundle/train.npz"
fi
exec "$python" "$root/benchmarks/gpu_check.py" "$out"
