#!/usr/bin/env bash
# One command for the demo: install into ./.venv, then open the demo notebook on the bundled sample dumps.
# Extra arguments go to `jupyter lab` (e.g. --port 8899).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
root_flag=()
[[ $(id -u) -eq 0 ]] && root_flag=(--allow-root)  # JupyterLab refuses to run as root without it
exec .venv/bin/jupyter lab "${root_flag[@]}" notebooks/browse_papers.ipynb "$@"
