#!/usr/bin/env bash
# One command for all the tests: install (package, test extras, Chromium), then run pytest.
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
# The plugin's TypeScript: eslint + prettier (no writes) and the vitest unit tests; the build left node_modules.
(cd labextension && PATH="$PWD/../.venv/bin:$PATH" jlpm lint:check && PATH="$PWD/../.venv/bin:$PATH" jlpm test)
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [[ $status -eq 5 ]]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit $status
