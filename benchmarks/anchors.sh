#!/usr/bin/env bash
# Install the "anchor" scanners that mlwarden is benchmarked against, each in its own
# isolated virtualenv under benchmarks/.venvs/<tool>, each pinned to an exact version.
#
#   bash benchmarks/anchors.sh            # install what is missing (idempotent)
#   bash benchmarks/anchors.sh --force    # recreate every anchor venv
#
# A tool that fails to install is reported and skipped; the script still exits 0 so that
# `make bench` goes on and run_scanners.py lists that tool as "not installed".
#
# torch: only modelaudit's optional PyTorch support needs it. It is installed first, pinned
# to TORCH_VERSION (the CPU build that pip finds on this machine), and the tool is then
# installed under a constraints file that pins the same torch, so pip can never pull a
# different (multi-GB CUDA) torch build.
#
# Licences (checked from the wheels' metadata): modelscan Apache-2.0, picklescan MIT,
# fickling LGPL-3.0-or-later, modelaudit MIT. They are only installed into throw-away
# venvs and run as separate processes; nothing of theirs is vendored into mlwarden.
set -u -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENVS="${ANCHOR_VENVS:-$HERE/.venvs}"
PYTHON="${ANCHOR_PYTHON:-$(command -v python3.11 || command -v python3)}"
TORCH_VERSION="${ANCHOR_TORCH_VERSION:-2.13.0}"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

# tool name | pip requirements (the tool's exact pin first, then any extra package) | needs torch
# fickling 0.1.12 imports typing_extensions on Python < 3.12 without declaring it (it is
#   only listed under its "lint" extra), so it is added explicitly.
# picklescan 1.0.5 imports numpy to scan .npy files but does not declare it (without it
#   every .npy scan dies with ModuleNotFoundError); py7zr comes with its "7z" extra.
# modelscan: numpy<2.3 because modelscan 0.8.8 calls private numpy.lib.format helpers
#   (_check_version, _read_array_header) that numpy 2.3 stopped exporting; with a newer numpy
#   every .npy scan fails with AttributeError. modelscan itself sets no upper bound.
# modelscan[h5py]: h5py lets modelscan open legacy Keras .h5 files; its TensorFlow extra
#   (SavedModel support) is left out on purpose: TensorFlow is a ~600 MB download.
# modelaudit[...]: the extras for the formats the corpus uses (pickle/torch, HDF5, ONNX,
#   safetensors, joblib, dill, msgpack). Its "all" extra would also pull mlflow, xgboost
#   (with CUDA NCCL) and tflite, which the corpus does not exercise.
ANCHORS=(
  "modelscan|modelscan[h5py]==0.8.8 numpy<2.3|0"
  "picklescan|picklescan[7z]==1.0.5 numpy|0"
  "fickling|fickling==0.1.12 typing_extensions|0"
  "modelaudit|modelaudit[pytorch,h5,onnx,safetensors,joblib,dill,flax]==0.2.54|1"
)

mkdir -p "$VENVS"
export PIP_DISABLE_PIP_VERSION_CHECK=1

status=()

# This machine's pip config lists local mirror folders that lack most projects; pip warns
# once per project about each. Drop that noise, keep every other message.
quiet_pip() {
  "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}

install_one() {
  local name="$1" req="$2" needs_torch="$3"
  local venv="$VENVS/$name"
  local first="${req%% *}"
  local pin="${first##*==}"
  local stamp="$venv/.anchor-installed"

  if [[ $FORCE -eq 0 && -f "$stamp" && "$(cat "$stamp")" == "$req" ]]; then
    echo "[anchors] $name: already installed ($req)"
    status+=("$name $pin ok(cached)")
    return 0
  fi

  echo "[anchors] $name: creating venv at $venv"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv" || return 1
  local pip=(quiet_pip "$venv/bin/python" -m pip install --quiet)
  "${pip[@]}" --upgrade pip >/dev/null 2>&1 || true

  local constraints=()
  if [[ "$needs_torch" == "1" ]]; then
    echo "[anchors] $name: installing torch==$TORCH_VERSION first"
    "${pip[@]}" "torch==$TORCH_VERSION" || return 1
    echo "torch==$TORCH_VERSION" >"$venv/constraints.txt"
    constraints=(-c "$venv/constraints.txt")
  fi

  echo "[anchors] $name: installing $req"
  local reqs
  read -r -a reqs <<<"$req"
  "${pip[@]}" "${constraints[@]}" "${reqs[@]}" || return 1

  if [[ "$needs_torch" == "1" ]]; then
    # Refuse a venv in which pip swapped torch or pulled CUDA wheels anyway.
    local tv
    tv="$("$venv/bin/python" -c 'import torch; print(torch.__version__)' 2>/dev/null)" || return 1
    if [[ "$tv" != "$TORCH_VERSION"* ]] || "$venv/bin/python" -m pip list 2>/dev/null | grep -qi '^nvidia-'; then
      echo "[anchors] $name: unexpected torch build ($tv) or CUDA wheels; refusing" >&2
      return 1
    fi
  fi

  "$venv/bin/python" -m pip check >/dev/null 2>&1 || echo "[anchors] $name: warning: pip check reports conflicts"
  echo "$req" >"$stamp"
  status+=("$name $pin ok")
}

for entry in "${ANCHORS[@]}"; do
  IFS='|' read -r name req needs_torch <<<"$entry"
  if ! install_one "$name" "$req" "$needs_torch"; then
    echo "[anchors] $name: INSTALL FAILED; the benchmark will list it as not installed" >&2
    rm -f "$VENVS/$name/.anchor-installed"
    first="${req%% *}"
    status+=("$name ${first##*==} FAILED")
  fi
done

echo "[anchors] summary:"
for s in "${status[@]}"; do echo "  $s"; done
for name in modelscan picklescan fickling modelaudit; do
  du -sh "$VENVS/$name" 2>/dev/null | sed 's/^/  size: /'
done
exit 0
