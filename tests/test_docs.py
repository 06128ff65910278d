"""The documentation covers the API and the command line."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import keras
import pytest

import shorttext_s2s
from shorttext_s2s.cli import build_parser

DOCS = Path(__file__).resolve().parents[1] / "docs"


def public_names() -> Iterator[Tuple[str, str, object]]:
    """(module, name, object) for every name in the ``__all__`` of the package's modules."""
    modules = [shorttext_s2s] + [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(shorttext_s2s.__path__, "shorttext_s2s.")
        if not info.name.endswith("__main__") and "._" not in info.name]
    for module in modules:
        for name in getattr(module, "__all__", ()):
            yield module.__name__, name, getattr(module, name)


def _resolve(anchor: str) -> Tuple[bool, object]:
    module_name, _, name = anchor.rpartition(".")
    try:
        return True, getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        return False, None


# Building the pages imports the package under whatever backend runs the tests; the pages do
# not depend on it, so one backend builds them (CI also builds them with -W on its own).
@pytest.mark.skipif(keras.backend.backend() != "jax",
                    reason="the documentation does not depend on the backend")
@pytest.mark.filterwarnings("ignore:The mapping interface for autodoc options")  # Sphinx's own
def test_every_public_name_is_in_the_generated_api_reference(tmp_path):
    build = pytest.importorskip("sphinx.cmd.build")
    out = tmp_path / "html"
    assert build.build_main(["-q", "-E", "-b", "html", str(DOCS), str(out)]) == 0
    anchors: Set[str] = set()
    for page in out.glob("*.html"):
        anchors.update(re.findall(r'id="(shorttext_s2s(?:\.\w+)+)"', page.read_text("utf-8")))
    documented: Dict[str, List[object]] = {}
    for anchor in anchors:
        found, value = _resolve(anchor)
        if found:
            documented.setdefault(anchor.rpartition(".")[2], []).append(value)

    missing = []
    for module, name, value in public_names():
        # A re-export or alias counts as documented where the same object is documented
        # under the same name (e.g. shorttext_s2s.CharBasedSeq2SeqGenerator, documented in
        # shorttext_s2s.generator).
        if f"{module}.{name}" in anchors:
            continue
        if not any(value is other for other in documented.get(name, [])):
            missing.append(f"{module}.{name}")
    assert not missing, f"public names missing from the API reference (docs/api.rst): {missing}"


def _documented_options() -> Dict[str, Set[str]]:
    """Option names per program in docs/cli.rst's ``.. program::``/``.. option::`` blocks."""
    options: Dict[str, Set[str]] = {}
    program = None
    for line in (DOCS / "cli.rst").read_text("utf-8").splitlines():
        if line.startswith(".. program::"):
            program = line.split("::", 1)[1].strip()
        elif line.startswith(".. option::"):
            for spelling in line.split("::", 1)[1].split(","):
                options.setdefault(program, set()).add(spelling.split()[0])
    return options


def test_every_command_option_is_on_the_cli_page():
    documented = _documented_options()
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse has no public accessor
    missing = []
    for command, subparser in commands.items():
        program = f"shorttext-s2s {command}"
        for action in subparser._actions:
            names = action.option_strings or [action.metavar or action.dest]
            for name in names:
                if name not in ("-h", "--help") and name not in documented.get(program, ()):
                    missing.append(f"{program} {name}")
    assert set(commands) == {"demo", "train", "decode", "chat", "evaluate", "serve"}
    assert not missing, f"options missing from docs/cli.rst: {missing}"
