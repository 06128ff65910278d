"""The package's layout holds: modules of one job and a readable size, dependencies one way,
every name the library offers written once (in the catalog), and the old paths working."""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

import shorttext_s2s
from shorttext_s2s import catalog

PACKAGE = Path(shorttext_s2s.__file__).parent


def _modules() -> Iterator[Tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def test_no_module_is_over_400_lines_and_the_facade_not_over_350():
    sizes = {name: len(path.read_text("utf-8").splitlines()) for name, path in _modules()}
    assert {name: size for name, size in sizes.items() if size > 400} == {}
    assert sizes["shorttext_s2s.generator"] <= 350


def _imports(name: str, path: Path) -> Iterator[Tuple[str, bool]]:
    """The package's own modules ``name`` imports, and whether inside a function."""
    tree = ast.parse(path.read_text("utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    functions = {id(node) for function in ast.walk(tree)
                 if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for node in ast.walk(function)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("shorttext_s2s"):
                continue
            for alias in node.names:
                # `from package import module` imports the module, else the package.
                child = f"{base}.{alias.name}"
                target = child if (PACKAGE.parent / Path(*child.split("."))).with_suffix(
                    ".py").exists() or (PACKAGE.parent / Path(*child.split("."))).is_dir() \
                    else base
                yield target, id(node) in functions
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("shorttext_s2s"):
                    yield alias.name, id(node) in functions


def _cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    found, state = [], {}

    def visit(node: str, trail: List[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_no_import_cycle_even_counting_the_imports_inside_functions():
    # Counting those too shows that no import was moved into a function to break a cycle:
    # the ones there only put off importing Keras.
    edges: Dict[str, Set[str]] = {}
    for name, path in _modules():
        edges[name] = {target for target, _ in _imports(name, path) if target != name}
    assert _cycles(edges) == []


def test_the_keras_free_layer_imports_no_backend():
    # What the command line needs before a command runs, the catalog and the ONNX runtime.
    code = ("import sys, shorttext_s2s.catalog, shorttext_s2s.cli, shorttext_s2s.export.runtime, "
            "shorttext_s2s.saving, shorttext_s2s.evaluation\n"
            "from shorttext_s2s.cli import build_parser\n"
            "build_parser()\n"
            "assert not {'keras', 'tensorflow', 'jax'} & set(sys.modules), sorted(sys.modules)")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


#: The modules that must read names from the catalog rather than spell them.
READERS = ("shorttext_s2s.cli", "shorttext_s2s.serving", "shorttext_s2s.export",
           "shorttext_s2s.training", "shorttext_s2s.decoding", "shorttext_s2s.saving",
           "shorttext_s2s.generator", "shorttext_s2s.text_decoder", "shorttext_s2s.model",
           "shorttext_s2s.evaluation", "shorttext_s2s.demo")


def _catalog_names() -> Set[str]:
    names = set(catalog.NETWORKS) | set(catalog.STRATEGIES) | set(catalog.RECIPES) \
        | set(catalog.EXPORT_FORMATS)
    return names | {catalog.ONNX_METADATA_KEY, catalog.MODEL_FORMAT, catalog.MODEL_SUFFIX}


def _string_literals(path: Path) -> Iterator[Tuple[int, str]]:
    tree = ast.parse(path.read_text("utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            yield node.lineno, node.value


def test_the_command_line_server_and_runtime_read_names_from_the_catalog():
    names = _catalog_names()
    spelled = [f"{path.relative_to(PACKAGE.parent)}:{line}: {value!r}"
               for module, path in _modules() if module.startswith(READERS)
               for line, value in _string_literals(path) if value in names]
    assert spelled == []


def test_the_classes_take_their_names_and_defaults_from_the_catalog():
    import inspect

    from shorttext_s2s.decoding import STRATEGIES
    from shorttext_s2s.networks import NETWORKS

    for group, classes in (("networks", NETWORKS), ("strategies", STRATEGIES)):
        entries = getattr(catalog, group.upper())
        for name, cls in classes.items():
            assert cls.name == name
            parameters = inspect.signature(cls).parameters
            assert {option.name: parameters[option.name].default
                    for option in entries[name].options} == entries[name].defaults()


def test_the_server_and_the_command_line_have_the_catalogs_limits():
    from shorttext_s2s.cli import build_parser
    from shorttext_s2s.serving import ServerSettings, serve
    import inspect

    settings = ServerSettings()
    serve_args = build_parser().parse_args(["serve", "model.h5"])
    for name, option in catalog.SERVER_LIMITS.items():
        assert getattr(settings, name) == getattr(serve_args, name) == option.default
    defaults = inspect.signature(serve).parameters
    for name, option in catalog.SERVE_OPTIONS.items():
        assert defaults[name].default == getattr(serve_args, name) == option.default


#: Each path of release 0.1 that moved, a name it had, and where that name lives now.
MOVED = [
    ("shorttext_s2s.batches", "PairBatches", "shorttext_s2s.training.batches"),
    ("shorttext_s2s.batching", "DynamicBatcher", "shorttext_s2s.serving.batcher"),
    ("shorttext_s2s.callbacks", "TimeBudget", "shorttext_s2s.training.callbacks"),
    ("shorttext_s2s.callbacks", "ModelSelection", "shorttext_s2s.training.selection"),
    ("shorttext_s2s.callbacks", "Selection", "shorttext_s2s.training.selection"),
    ("shorttext_s2s.recipes", "default_optimizer", "shorttext_s2s.training.recipes"),
    ("shorttext_s2s.recipes", "PATIENCE", "shorttext_s2s.training.selection"),
    ("shorttext_s2s.recipes", "selection_measure", "shorttext_s2s.training.selection"),
    ("shorttext_s2s.distributed", "initialize", "shorttext_s2s.training.distributed"),
    ("shorttext_s2s.fileformat", "read_model_file", "shorttext_s2s.saving.container"),
    ("shorttext_s2s.fileformat", "atomic_path", "shorttext_s2s.saving.container"),
    ("shorttext_s2s.persistence", "CompactIOMachine", "shorttext_s2s.saving.compact"),
    ("shorttext_s2s.persistence", "SECTIONS", "shorttext_s2s.saving.description"),
    ("shorttext_s2s.persistence", "MODEL_SUFFIX", "shorttext_s2s.catalog"),
    ("shorttext_s2s.runtime", "OnnxDecoder", "shorttext_s2s.export.runtime"),
    ("shorttext_s2s.strategy_options", "strategy_options", "shorttext_s2s.catalog"),
    ("shorttext_s2s.strategy_options", "STRATEGY_OPTIONS", "shorttext_s2s.catalog"),
]


@pytest.mark.parametrize("old, name, new", MOVED)
def test_the_old_import_paths_still_work_with_a_warning(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=f"import {name} from {new}"):
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), name)


def test_the_renamed_names_and_unmoved_paths():
    from shorttext_s2s import training
    from shorttext_s2s.export import export_model
    from shorttext_s2s.serving import ServerSettings, create_app, serve
    from shorttext_s2s.training.selection import MEASURES

    with pytest.warns(DeprecationWarning):
        from shorttext_s2s.callbacks import SELECTION_MEASURES
    assert SELECTION_MEASURES is MEASURES
    assert all(callable(name) for name in (export_model, ServerSettings, create_app, serve))
    assert training.Trainer.__module__ == "shorttext_s2s.training.trainer"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from shorttext_s2s.generators import CharBasedSeq2SeqGenerator
    assert CharBasedSeq2SeqGenerator is shorttext_s2s.CharBasedSeq2SeqGenerator
    # shorttext's paths are no deprecated ones.
    assert not [w for w in caught if "shorttext_s2s" in str(w.message)]
