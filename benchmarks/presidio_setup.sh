#!/usr/bin/env bash
# Build the separate virtualenv in which benchmarks/pii_bench.py runs Presidio.
#
#   bash benchmarks/presidio_setup.sh [--force]
#
# Presidio stays out of the project venv. Its default engine downloads a spaCy model at run
# time (and fails offline), so this script saves a *blank* English spaCy pipeline to disk
# and the bench points Presidio's NLP engine at it: the pattern recognizers (cards, SSNs,
# IBANs, e-mail, phones, IPs, dates, national ids) run; the NER-based ones (PERSON,
# LOCATION) find nothing. Idempotent: an existing venv with the pinned version is kept.
set -euo pipefail

PRESIDIO_VERSION="${PRESIDIO_VERSION:-2.2.366}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venvs/presidio"
stamp="$venv/.installed-$PRESIDIO_VERSION"

if [[ "${1:-}" == "--force" ]]; then
  rm -rf "$venv"
fi
if [[ -f "$stamp" ]]; then
  echo "presidio $PRESIDIO_VERSION already installed in $venv"
  exit 0
fi

python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "presidio-analyzer==$PRESIDIO_VERSION"
"$venv/bin/python" - "$venv/blank_en" <<'PY'
import sys

import spacy

spacy.blank("en").to_disk(sys.argv[1])
print(f"blank spaCy pipeline saved to {sys.argv[1]}")
PY
touch "$stamp"
echo "presidio $PRESIDIO_VERSION installed in $venv"
