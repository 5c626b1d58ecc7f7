#!/usr/bin/env bash
# One command for all the tests: install (package, test extras, Chromium), then run pytest.
# pytest's "no tests ran" (exit 5) is a failure here, never a pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test
# The plugin's TypeScript: eslint + prettier (no writes) and the vitest unit tests; the build above left node_modules.
(cd labextension && PATH="$PWD/../.venv/bin:$PATH" jlpm lint:check && PATH="$PWD/../.venv/bin:$PATH" jlpm test)
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [[ $status -eq 5 ]]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit $status
