#!/usr/bin/env bash
# One command for the demo: install into ./.venv when needed, then open a scratch copy of the demo
# notebook (on the bundled sample dumps), so using the demo never changes the repository.
#   PAPER_WIDGETS_DEMO_DIR   where the copy lives (default: ~/.cache/paper_widgets-demo); it is kept
#                            between runs, so your edits stay; delete it to start over.
# Extra arguments go to `jupyter lab` (e.g. --port 8899).
set -euo pipefail
cd "$(dirname "$0")/.."

# Install on the first run, and again only when a source file changed since the last install.
stamp=.venv/.paper_widgets-installed
sources=(paper_widgets labextension/src labextension/package.json pyproject.toml)
if [[ ! -f $stamp ]] || [[ -n $(find "${sources[@]}" -newer "$stamp" -type f \
    -not -path '*/__pycache__/*' -not -path 'paper_widgets/labextension/*' -print -quit) ]]; then
  scripts/install.sh
  touch "$stamp"
else
  echo "paper_widgets is installed and up to date in .venv (delete $stamp to reinstall)"
fi

scratch=${PAPER_WIDGETS_DEMO_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/paper_widgets-demo}
mkdir -p "$scratch"
notebook=$scratch/browse_papers.ipynb
[[ -e $notebook ]] || cp notebooks/browse_papers.ipynb "$notebook"
echo "Opening $notebook (a copy: the repository's notebook stays as it is)"

root_flag=()
[[ $(id -u) -eq 0 ]] && root_flag=(--allow-root)  # JupyterLab refuses to run as root without it
exec .venv/bin/jupyter lab "${root_flag[@]}" --ServerApp.root_dir="$scratch" "$notebook" "$@"
