# Sourced by the peers' setup scripts: each peer's own cached virtual environment, outside the
# repository, under ${SHORTTEXT_S2S_PEER_CACHE:-~/.cache/shorttext-s2s-peer}; PEER_PYTHON
# chooses the interpreter (default: python3).

# peer_venv_begin NAME: sets $venv to the environment NAME. A complete one (it has the file
# .installed) is reused: its bin folder is printed and the script ends. Otherwise a fresh one
# is made, with an up-to-date pip, for the script to install into.
peer_venv_begin() {
    local cache="${SHORTTEXT_S2S_PEER_CACHE:-$HOME/.cache/shorttext-s2s-peer}"
    venv="$cache/$1"
    if [[ -f "$venv/.installed" ]]; then
        echo "$venv/bin"
        exit 0
    fi
    mkdir -p "$cache"
    rm -rf "$venv"
    "${PEER_PYTHON:-python3}" -m venv "$venv"
    started=$SECONDS
    "$venv/bin/pip" install --quiet --upgrade pip >&2
}

# peer_venv_end: marks the environment complete (its pip freeze) and prints its bin folder.
peer_venv_end() {
    echo "installed in $((SECONDS - started)) s" >&2
    "$venv/bin/pip" freeze > "$venv/.installed"
    echo "$venv/bin"
}
