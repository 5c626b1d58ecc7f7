#!/usr/bin/env bash
# The static checks, the same ones the pre-commit hooks run, on the whole tree:
#   scripts/lint.sh            all of them but ts-test, which scripts/test.sh runs (what .ci/run runs first)
#   scripts/lint.sh python     ruff check, ruff format --check, mypy (strict)
#   scripts/lint.sh protocol   labextension/src/protocolSpec.ts is generated from protocol.json
#   scripts/lint.sh ts-lint    `jlpm lint:check` (eslint, prettier) if labextension/package.json has it
#   scripts/lint.sh ts-test    `jlpm test` (TypeScript unit tests) if labextension/package.json has it
# Needs the venv that `scripts/install.sh --test` makes (VENV=path to use another).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(realpath -m "${VENV:-.venv}")
what=${1:-all}

python_checks() {
  "$venv/bin/ruff" check .
  "$venv/bin/ruff" format --check .
  "$venv/bin/mypy"
}

protocol_check() {
  node labextension/scripts/protocol-types.mjs --check
}

# Runs `jlpm $1` in labextension/ when package.json defines that script (installing node_modules first).
jlpm_script() (
  cd labextension
  export PATH="$venv/bin:$PATH" YARN_ENABLE_MIRROR=false # jlpm comes with jupyterlab in the venv
  node -e "process.exit(require('./package.json').scripts?.['$1'] ? 0 : 1)" || {
    echo "labextension/package.json has no '$1' script: skipped"
    return 0
  }
  [[ -d node_modules ]] || jlpm install
  jlpm "$1"
)

case $what in
  python) python_checks ;;
  protocol) protocol_check ;;
  ts-lint) jlpm_script lint:check ;;
  ts-test) jlpm_script test ;;
  all) python_checks && protocol_check && jlpm_script lint:check ;;  # ts-test runs with the tests
  *) echo "usage: scripts/lint.sh [python|protocol|ts-lint|ts-test|all]" >&2; exit 2 ;;
esac
