#!/usr/bin/env bash
# Installs the peer yoyodyne 0.5.27 (the CUNY-CL character-level seq2seq library of the
# SIGMORPHON shared tasks) into its own cached virtual environment outside the repository,
# and prints the path of that environment's bin folder on stdout (logs go to stderr).
#
# The environment is ${SHORTTEXT_S2S_PEER_CACHE:-~/.cache/shorttext-s2s-peer}/venv-yoyodyne;
# a complete one (it has the file .installed) is reused as it is. yoyodyne 0.5.27 requires
# torch >=2.9.1,<3 together with torchaudio and torchvision (which it never imports) and
# lightning >=2.6; torch is pinned to 2.13.0 (PEER_TORCH overrides the requirement), which on
# this project's machines is a CPU build on disk. Anywhere else pip takes torch 2.13.0 from
# PyPI, a CUDA build of several GB; the benchmark runs it on the CPU all the same.
# torchvision and torchaudio are removed after the install: yoyodyne never imports them, and
# with torchvision present torchmetrics imports it, which fails beside a torch build it was
# not made for ("operator torchvision::nms does not exist", as PyPI's torchvision 0.28.0 does
# beside this machine's CPU torch 2.13.0), so yoyodyne would not start. pip check then
# reports yoyodyne's two unmet declared requirements; that is expected.
#
# Usage (from the repository root):  bash benchmarks/peer/setup_yoyodyne.sh
set -euo pipefail

source "$(dirname "$0")/venv.sh"
torch_req="${PEER_TORCH:-torch==2.13.0}"
peer_venv_begin venv-yoyodyne
"$venv/bin/pip" install --quiet "$torch_req" "yoyodyne==0.5.27" >&2
"$venv/bin/pip" uninstall --quiet --yes torchvision torchaudio >&2
"$venv/bin/python" - >&2 <<'PY'
import importlib.metadata as md
import lightning, torch, yoyodyne  # noqa: F401  (importable)
print(f"peer environment: torch {torch.__version__}, lightning {lightning.__version__}, "
      f"yoyodyne {md.version('yoyodyne')}")
PY
peer_venv_end
