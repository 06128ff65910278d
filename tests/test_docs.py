"""The documentation covers the API and the command line, and its code runs as written."""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import keras
import pytest

import shorttext_s2s
from shorttext_s2s.cli import build_parser

from conftest import under_one_backend

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
@under_one_backend("building the documentation")
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
    assert set(commands) == {"demo", "train", "decode", "chat", "evaluate", "serve", "export"}
    assert not missing, f"options missing from docs/cli.rst: {missing}"


# --- every code block of README.rst and docs/ runs as written, on small data ------------------

PAGES = ["README.rst"] + sorted(f"docs/{page.name}" for page in DOCS.glob("*.rst"))
_BLOCK = re.compile(r"^\.\. code-block:: (\w+)\n((?:[ \t]+:.*\n)*)\n((?:(?:[ \t]+.*)?\n)+)",
                    re.MULTILINE)

# The blocks run as written, at a scale that takes seconds: each replacement must still find
# its text on its page, so that a page and its test cannot drift apart unnoticed.
SCALE: Dict[str, List[Tuple[str, str]]] = {
    "README.rst": [("latent_dim=256", "latent_dim=16"), ("epochs=30", "epochs=1")],
    "docs/quickstart.rst": [("latent_dim=256", "latent_dim=16"), ("epochs=30", "epochs=1"),
                            ("head -n 5000", "head -n 24"), ("5001,5500p", "25,36p"),
                            ("--epochs 30", "--epochs 1 --latent-dim 8")],
    "docs/training.rst": [("limit=11000", "limit=36"),
                          ("pairs[:10000], pairs[10000:]", "pairs[:30], pairs[30:]"),
                          ("latent_dim=256", "latent_dim=16"), ("epochs=100", "epochs=2"),
                          ("head -n 10000", "head -n 30"),
                          ("--latent-dim 256 --epochs 100", "--latent-dim 8 --epochs 2")],
    "docs/networks.rst": [("limit=10000", "limit=36"), ("latent_dim=256", "latent_dim=16"),
                          ("epochs=100", "epochs=2")],
    "docs/saving.rst": [("latent_dim=256", "latent_dim=16"), ("epochs=30", "epochs=1"),
                        ("epochs=100", "epochs=2")],
    "docs/tutorial_translation.rst": [("latent_dim=256", "latent_dim=16"),
                                      ("epochs=100", "epochs=1"),
                                      ("in pairs}), 200)", "in pairs}), 10)")],
    "docs/tutorial_g2p.rst": [("words[:12000]", "words[:10]"),
                              ("words[12000:13000]", "words[10:16]"),
                              ("words[13000:]", "words[16:40]"),
                              ("--time-budget 15m", "--time-budget 15m --epochs 1 "
                                                    "--latent-dim 8"),
                              ("--validation-split 0.01", "--validation-split 0.2"),
                              ("--latent-dim 384", "--latent-dim 8"),
                              ("latent_dim=256", "latent_dim=16"),
                              ("latent_dim=384", "latent_dim=16"), ("epochs=1000", "epochs=1")],
    "docs/tutorial_chatbot.rst": [("max_chars=48", "max_chars=16"),
                                  ("latent_dim=256", "latent_dim=16"), ("maxlen=49", "maxlen=17"),
                                  ("epochs=70", "epochs=1")],
}

# The blocks that do not run here, each with the reason; a block is left out when it contains
# the text. Any other block runs.
NOT_RUN: Dict[str, Dict[str, str]] = {
    "README.rst": {"pip install": "installs from the network (the demo: test_cli.py --quick)",
                   "bash .ci/run": "the test suite itself"},
    "docs/index.rst": {"pip install": "installs from the network"},
    "docs/installation.rst": {"pip install": "installs from the network or needs a GPU",
                              "bash .ci/run": "the test suite itself"},
    "docs/quickstart.rst": {"pip install": "installs from the network (the demo: test_cli.py)"},
    "docs/tutorial_translation.rst": {"examples/translate_fra_eng.py": "test_examples.py",
                                      "'Call me.' ->": "the output of a full run"},
    "docs/tutorial_g2p.rst": {"pip install": "installs from the network",
                              "hun_large.train": "the shared task's files (test_units.py runs "
                                                 "these commands on a small file)"},
    "docs/tutorial_chatbot.rst": {"conversations:": "a data file's layout, not code",
                                  "shorttext-s2s chat": "an interactive session (test_cli.py)"},
    "docs/cli.rst": {"demo [--quick]": "a synopsis", "train PAIRS": "a synopsis",
                     "--distributed --coordinator": "processes of a multi-process run "
                                                    "(test_distributed.py starts two)",
                     "train lexicon.tsv": "examples of minutes (tutorial_g2p.rst runs them "
                                          "at a small scale)",
                     "decode MODEL": "a synopsis", "chat shorttext-s2s-demo.h5": "interactive",
                     "shorttext-s2s serve MODEL": "a server running until stopped "
                                                  "(test_serving.py starts real ones)",
                     "^C": "a transcript of Ctrl-C (test_cli_session.py sends the signal)",
                     "shorttext-s2s export fra-eng.h5": "exports run under TensorFlow only "
                                                        "(test_export.py runs the command)",
                     "model selection: validation chrF": "a transcript of a training run "
                                                         "(test_cli_session.py checks its "
                                                         "lines)"},
    "docs/training.rst": {"MirroredStrategy": "several devices (test_training.py: two)",
                          "distributed.initialize()": "a multi-process run "
                                                      "(test_distributed.py starts two)",
                          "#SBATCH": "a Slurm job script",
                          "CUDA_VISIBLE_DEVICES=$gpu": "a process per GPU",
                          "model selection: validation chrF": "training's output "
                                                              "(test_training.py checks it)",
                          "benchmarks/": "benchmarks of minutes to hours"},
    "docs/robustness.rst": {"fuzz_loader": "long fuzz runs (test_fuzz_loader.py: a short one)"},
    "docs/architecture.rst": {"cli/  ": "a diagram of the dependencies' direction"},
    "docs/performance.rst": {"shorttext-s2s demo": "the full demo takes minutes (test_cli.py "
                                                   "runs it with --quick)",
                             "quality_bench.py": "a benchmark of an hour or more",
                             "transduction_bench.py": "benchmarks of hours"},
    "docs/serving.rst": {
        "shorttext-s2s serve fra-eng.h5": "a server running until stopped (test_serving.py "
                                          "starts real ones)",
        'serve("fra-eng.h5"': "a server running until stopped (test_serving.py)",
        "curl -s localhost:8000/v1/decode -H": "requests to a running server (test_serving.py "
                                               "sends them)",
        "serve_bench.py": "a load benchmark of minutes",
        "apiVersion: apps/v1": "a Kubernetes manifest",
        "docker run": "TensorFlow Serving's container (test_export.py loads exports with "
                      "TensorFlow alone)",
        "pip install --no-deps": "installs from the network (test_export.py installs it in a "
                                 "fresh environment)",
        'OnnxDecoder("fra-eng.onnx")': "an ONNX export, made under TensorFlow only "
                                       "(test_export.py decodes with one)"},
}


def code_blocks(page: str) -> List[Tuple[str, str]]:
    """(language, code) of each ``code-block`` of a page, dedented, in order."""
    text = (DOCS.parent / page).read_text("utf-8")
    return [(match.group(1), textwrap.dedent(match.group(3)).strip("\n") + "\n")
            for match in _BLOCK.finditer(text)]


def _commands(block: str) -> List[Tuple[str, List[str]]]:
    """The ``$ `` commands of a console block (continuation lines joined) and their output."""
    commands: List[Tuple[str, List[str]]] = []
    lines = block.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.startswith("$ "):
            commands[-1][1].append(line)  # output shown after the command
            continue
        command = line[2:]
        while command.endswith("\\"):
            command = command[:-1] + " " + lines[index].strip()
            index += 1
        commands.append((command, []))
    return commands


@pytest.fixture(scope="module")
def page_files(trained_generator, tiny_pairs, pairs_path, tmp_path_factory) -> Path:
    """The files the pages name, made from the tests' own data.

    ``fra.txt`` has the Anki layout (a third, attribution column); the model files are the
    shared model trained on ``pairs.txt``.
    """
    directory = tmp_path_factory.mktemp("page-files")
    lines = pairs_path.read_text("utf-8").splitlines()
    (directory / "fra.txt").write_text(
        "".join(f"{line}\tCC-BY 2.0 (France) shorttext-s2s tests\n" for line in lines),
        encoding="utf-8")
    (directory / "pairs.txt").write_text("".join(f"{s}\t{t}\n" for s, t in tiny_pairs),
                                         encoding="utf-8")
    trained_generator.save_compact_model(directory / "model.h5", final=True)
    trained_generator.save_compact_model(directory / "shorttext-s2s-demo.h5", final=True)
    return directory


def _run_console(command: str, cwd: Path) -> subprocess.CompletedProcess:
    script = shutil.which("shorttext-s2s", path=os.path.dirname(sys.executable))
    program = shlex.quote(script) if script else f"{shlex.quote(sys.executable)} -m shorttext_s2s"
    command = re.sub(r"(^|\s)(\.venv/bin/)?shorttext-s2s(?=\s)", rf"\g<1>{program}", command)
    command = command.replace(".venv/bin/python ", f"{shlex.quote(sys.executable)} ")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(DOCS.parent)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH")
                              else [])))
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="the pages call the library, which is tested under both backends")
@pytest.mark.parametrize("page", PAGES)
def test_every_code_block_runs(page, page_files, tmp_path, monkeypatch):
    if page == "docs/tutorial_chatbot.rst":
        pytest.importorskip("chatterbot_corpus", reason="the demo extra is not installed")
    for name in page_files.iterdir():
        shutil.copy(name, tmp_path / name.name)
    monkeypatch.chdir(tmp_path)
    blocks = code_blocks(page)
    scale = SCALE.get(page, [])
    for written, _ in scale:
        assert any(written in code for _, code in blocks), f"{page} no longer has {written!r}"
    excused = NOT_RUN.get(page, {})
    used = set()
    namespace: Dict[str, object] = {}
    for number, (language, code) in enumerate(blocks, start=1):
        reasons = [text for text in excused if text in code]
        if reasons:
            used.update(reasons)
            continue
        for written, scaled in scale:
            code = code.replace(written, scaled)
        where = f"{page}, code block {number}"
        if language == "python":
            exec(compile(code, where, "exec"), namespace)
        elif language == "console":
            for command, shown in _commands(code):
                if shown == ["..."]:
                    continue
                result = _run_console(command, tmp_path)
                assert result.returncode == 0, f"{where}: {command}\n{result.stderr[-2000:]}"
                if shown:
                    assert result.stdout.splitlines() == shown, f"{where}: {command}"
        else:
            pytest.fail(f"{where}: a {language} block neither runs nor is in NOT_RUN")
    assert used == set(excused), f"NOT_RUN entries that match no block of {page}"
