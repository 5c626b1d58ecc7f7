#!/usr/bin/env bash
# Install paper_widgets into ./.venv exactly as a user would: a plain (non-editable) `pip install`,
# which builds the TypeScript plugin with the Node.js that the build requirements bring.
#   scripts/install.sh            the package
#   scripts/install.sh --test     the package, its test extras, Debian Chromium for the browser tests and
#                                 Debian TeX (pdflatex, bibtex) for the LaTeX/PDF publishing tests
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=false
[[ "${1:-}" == "--test" ]] && with_tests=true

python=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip

export YARN_ENABLE_MIRROR=false  # no ~110 MB global yarn cache
if $with_tests; then
  .venv/bin/python -m pip install --quiet ".[test]"
else
  .venv/bin/python -m pip install --quiet .
fi

# The plugin must be installed and enabled, or nothing reaches the notebook.
.venv/bin/jupyter labextension list 2>&1 | grep -E "paper-widgets .*enabled.*OK" \
  || { echo "paper-widgets labextension is not enabled after install" >&2; exit 1; }
# So must the server extension, or the citation picker and the Papers sidebar have nothing to ask.
.venv/bin/jupyter server extension list 2>&1 | grep -E "paper_widgets.server .*OK" \
  || { echo "the paper_widgets server extension is not enabled after install" >&2; exit 1; }

# Debian packages the tests need, installed only when missing (as root directly, else through sudo).
apt_install() {
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if $with_tests; then
  missing=()
  # Browser tests use Debian's Chromium; Playwright's own browser download does not work here.
  command -v chromium >/dev/null || missing+=(chromium)
  # nbconvert's LaTeX template and natbib: what `jupyter nbconvert --to paper_widgets_pdf` needs.
  command -v pdflatex >/dev/null && kpsewhich natbib.sty >/dev/null \
    || missing+=(texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended
                 texlive-pictures texlive-plain-generic)
  # Team-store tests start a throwaway PostgreSQL cluster (tests/pg_cluster.py).
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  if ((${#missing[@]})); then
    apt_install "${missing[@]}"
  fi
fi
