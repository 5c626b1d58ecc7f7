#!/usr/bin/env bash
# One command for all the tests: install (package, test extras, Chromium, TeX, PostgreSQL), then run
# the TypeScript unit tests and pytest.
# pytest's "no tests ran" (exit 5) is a failure here, never a pass.
#   scripts/test.sh [PYTEST ARGS]               install, then test
#   scripts/test.sh --installed [PYTEST ARGS]   test what scripts/install.sh --test installed (.ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--installed" ]]; then
  shift
else
  scripts/install.sh --test
fi
# The plugin's TypeScript unit tests (vitest), then every Python test (browser, PostgreSQL and publishing included).
scripts/lint.sh ts-test
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [[ $status -eq 5 ]]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit $status
