#!/usr/bin/env bash
# One command for all the tests: install (package, test extras, Chromium), then run pytest.
# pytest's "no tests ran" (exit 5) is a failure here, never a pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [[ $status -eq 5 ]]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit $status
