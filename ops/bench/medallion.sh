#!/usr/bin/env bash
# TAXII 2.1 side by side: medallion 3.0.0 and a running renkei hub on the same generated
# envelope of indicators (ops/bench/medallion.py says what is measured), e.g.
#   ops/bench/medallion.sh                                   medallion only
#   ops/bench/medallion.sh --renkei-discovery http://127.0.0.1:8480/taxii2/ --renkei-token "$(cat token)"
# It runs with the tools' virtual environment that ops/test makes from
# tests/interop/requirements.txt (RENKEI_PYTHON, else ${RENKEI_PYENV:-/var/tmp/renkei-pyenv}).
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${RENKEI_PYTHON:-${RENKEI_PYENV:-/var/tmp/renkei-pyenv}/bin/python}"
if [ ! -x "$python" ] || ! cmp -s tests/interop/requirements.txt "$(dirname "$(dirname "$python")")/.renkei-requirements.txt"; then
  echo "ops/bench/medallion.sh: $python is missing or outdated; run ops/test (it installs tests/interop/requirements.txt)" >&2
  exit 1
fi
exec "$python" ops/bench/medallion.py "$@"
