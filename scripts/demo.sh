#!/usr/bin/env bash
# One command for the demo: install into ./.venv, then open the demo notebook on the bundled sample dumps.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/jupyter lab notebooks/browse_papers.ipynb "$@"
