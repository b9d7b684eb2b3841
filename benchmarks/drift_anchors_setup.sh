#!/usr/bin/env bash
# Build the separate virtualenvs in which benchmarks/drift_bench.py runs its drift anchors.
#
#   bash benchmarks/drift_anchors_setup.sh [--force]
#
# alibi-detect (Business Source License, pins old numpy) and evidently stay out of the
# project venv. They get one venv each because their numpy/pyarrow pins disagree:
#   benchmarks/.venvs/drift-alibi      alibi-detect (KSDrift, MMDDrift on the PyTorch backend)
#   benchmarks/.venvs/drift-evidently  evidently (DataDriftPreset)
# torch is pinned: on this machine pip finds the local CPU wheel for 2.13.0, while an
# unpinned requirement would pull a multi-GB CUDA build. Idempotent: a venv whose stamp
# file exists is kept.
set -euo pipefail

ALIBI_VERSION="${ALIBI_VERSION:-0.13.0}"
EVIDENTLY_VERSION="${EVIDENTLY_VERSION:-0.7.23}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

build() {  # build NAME STAMP PACKAGES...
  local venv="$here/.venvs/$1" stamp="$here/.venvs/$1/.installed-$2"
  shift 2
  if [[ "${FORCE:-}" == 1 ]]; then rm -rf "$venv"; fi
  if [[ -f "$stamp" ]]; then
    echo "$(basename "$venv") already installed"
    return 0
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet "$@"
  touch "$stamp"
  echo "$(basename "$venv") installed: $*"
}

if [[ "${1:-}" == "--force" ]]; then FORCE=1; fi
build drift-alibi "alibi-$ALIBI_VERSION" "alibi-detect==$ALIBI_VERSION" "torch==$TORCH_VERSION"
# evidently 0.7.23 imports pandas internals removed in pandas 3.
build drift-evidently "evidently-$EVIDENTLY_VERSION" "evidently==$EVIDENTLY_VERSION" "pandas<3"
