#!/usr/bin/env bash
# Build the separate virtualenv in which benchmarks/backdoor_data_bench.py runs IBM ART.
#
#   bash benchmarks/art_setup.sh [--force]
#
# A plain venv (no system site-packages). torch is pinned: the local CPU wheel is found by
# pip on the project's machines; an unpinned torch pulls a multi-GB CUDA build.
set -euo pipefail

ART_VERSION="${ART_VERSION:-1.20.1}"
# bump when the install list changes so existing venvs are rebuilt
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venvs/art"
stamp="$venv/.installed-$ART_VERSION"

if [[ "${1:-}" == "--force" ]]; then
  rm -rf "$venv"
fi
if [[ -f "$stamp" ]]; then
  echo "adversarial-robustness-toolbox $ART_VERSION already installed in $venv"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "adversarial-robustness-toolbox==$ART_VERSION" \
  "torch==2.13.0" scikit-learn numpy packaging  # ART imports packaging undeclared
touch "$stamp"
echo "adversarial-robustness-toolbox $ART_VERSION installed in $venv"
