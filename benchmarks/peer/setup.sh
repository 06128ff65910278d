#!/usr/bin/env bash
# Installs the peer of the quality benchmark, OpenNMT-py 3.5.1, into its own cached virtual
# environment outside the repository, and prints the path of that environment's bin folder.
#
# The environment is ${SHORTTEXT_S2S_PEER_CACHE:-~/.cache/shorttext-s2s-peer}/venv-onmt; a
# complete one (it has the file .installed) is reused as it is. OpenNMT-py 3.5.1 requires
# torch >=2.1,<2.3 and, in practice, numpy<2; torch 2.2.2 is installed from PyPI, which has
# only its CUDA build for Linux (a 756 MB wheel plus nvidia-* wheels: 5.5 GB installed, about
# 5 minutes; the benchmark runs it on the CPU all the same). PEER_TORCH overrides the torch
# requirement, e.g. with a CPU build from a local wheel; OpenNMT-py 3.5.1 declares
# torch<2.3, so pip refuses newer releases.
#
# Usage (from the repository root):  bash benchmarks/peer/setup.sh
set -euo pipefail

source "$(dirname "$0")/venv.sh"
torch_req="${PEER_TORCH:-torch==2.2.2}"
peer_venv_begin venv-onmt
"$venv/bin/pip" install --quiet "$torch_req" "numpy<2" "OpenNMT-py==3.5.1" sacrebleu >&2
"$venv/bin/python" - >&2 <<'PY'
import numpy, torch, onmt
print(f"peer environment: torch {torch.__version__}, numpy {numpy.__version__}, "
      f"OpenNMT-py {onmt.__version__}")
PY
peer_venv_end
