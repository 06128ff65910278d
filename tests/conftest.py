"""Shared fixtures: small pairs of the project's own, the real fra-eng pairs where they are,
and one small trained model (trained once, by ``tools/make_test_model.py``, and loaded).

The suite trains on pairs it carries (``tests/data/en-fr.tsv``, written for it) and on
sentences it makes up, so that it passes in a fresh clone with nothing beside it. Only the
tests that are about the real Anki file ask for ``fra_path``; they are skipped, with one line
saying where the file is expected, when it is not there.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import List, Tuple

import pytest

from shorttext_s2s import CharBasedSeq2SeqGenerator, loadCharBasedSeq2SeqGenerator
from shorttext_s2s.data import read_pairs
from shorttext_s2s.decoding import backend as decoding_backend
from shorttext_s2s.decoding import engine

REPO = Path(__file__).resolve().parents[1]
#: The data the project reads by relative path; CI has it beside the checkout.
FRA_PATH = REPO.parent / "shared" / "data" / "fra-eng" / "fra.txt"
#: 36 short English-French pairs written for the tests, two columns as in read_pairs' input.
PAIRS_PATH = REPO / "tests" / "data" / "en-fr.tsv"
#: ``trained_generator``'s file, written by ``tools/make_test_model.py``.
TINY_MODEL_PATH = REPO / "tests" / "data" / "tiny_model.h5"


#: Under TensorFlow the library compiles each decoding function with XLA, what users run, at
#: about 2 s a compile against 0.4 s for a plain graph; a test run makes dozens. The tests
#: compile plain graphs unless ``SHORTTEXT_S2S_TEST_XLA=1`` (``.ci/run`` sets it), so that
#: ``pytest -m "not slow"`` stays a fast loop; tests marked ``xla`` always use XLA.
TEST_XLA = os.environ.get("SHORTTEXT_S2S_TEST_XLA", "") == "1"
_compile_function = decoding_backend.compile_function


def _compile_without_xla(function, jit_compile=True):
    return _compile_function(function, jit_compile=False)


@pytest.fixture(autouse=True)
def decoding_compiler(request):
    """Plain graphs for TensorFlow's decoding functions, unless XLA is asked for (see above)."""
    xla = TEST_XLA or request.node.get_closest_marker("xla") is not None
    wanted = _compile_function if xla else _compile_without_xla
    if decoding_backend.compile_function is not wanted:
        engine.clear_cache()  # its functions were compiled the other way
        decoding_backend.compile_function = wanted


def under_one_backend(why: str) -> pytest.MarkDecorator:
    """Run a test under the JAX backend only: what it checks is the same under both (command
    plumbing, processes, files, a page), and the CI runs the suite once per backend. JAX's
    processes start fastest. ``why`` says what the test is about, for the skip reason."""
    import keras

    return pytest.mark.skipif(keras.backend.backend() != "jax",
                              reason=f"{why}, the same under both backends; run under JAX")


def made_up_pairs() -> List[Tuple[str, str]]:
    """384 distinct, grammatical English-French sentences built from a few words.

    They serve where a test needs many distinct inputs beyond the written pairs.
    """
    subjects = [("I", "J'ai"), ("You", "Tu as"), ("He", "Il a"), ("She", "Elle a"),
                ("We", "Nous avons"), ("They", "Ils ont")]
    verbs = [("saw", "vu"), ("found", "trouvé"), ("took", "pris"), ("painted", "peint"),
             ("lost", "perdu"), ("wanted", "voulu"), ("liked", "aimé"), ("bought", "acheté")]
    things = [("the cat", "le chat"), ("the dog", "le chien"), ("the book", "le livre"),
              ("the car", "la voiture"), ("the key", "la clé"), ("the bike", "le vélo"),
              ("the bread", "le pain"), ("the map", "la carte")]
    return [(f"{s} {v} {t}.", f"{fs} {fv} {ft}.")
            for (s, fs), (v, fv), (t, ft) in itertools.product(subjects, verbs, things)]


def first_unique_pairs(count: int, skip: int = 0) -> List[Tuple[str, str]]:
    """``count`` pairs with distinct English sides, after the first ``skip``.

    The written pairs of ``tests/data/en-fr.tsv`` come first, then the made-up ones.
    """
    pairs = read_pairs(PAIRS_PATH) + made_up_pairs()
    assert len({source for source, _ in pairs}) == len(pairs), "sources must be distinct"
    assert skip + count <= len(pairs), f"only {len(pairs)} test pairs"
    return pairs[skip:skip + count]


@pytest.fixture(scope="session")
def fra_path() -> Path:
    """The Anki fra-eng file beside the checkout; the test is skipped without it."""
    if not FRA_PATH.exists():
        pytest.skip(f"needs the Anki fra-eng pairs at {FRA_PATH} (not part of the repository)")
    return FRA_PATH


@pytest.fixture(scope="session")
def pairs_path() -> Path:
    """The test pairs file of the repository (two columns)."""
    return PAIRS_PATH


@pytest.fixture(scope="session")
def tiny_pairs() -> List[Tuple[str, str]]:
    """24 short English→French pairs with distinct inputs."""
    return first_unique_pairs(24)


@pytest.fixture(scope="session")
def trained_generator(tiny_pairs) -> CharBasedSeq2SeqGenerator:
    """A small model trained until greedy decoding reproduces ``tiny_pairs``, with its optimizer.

    Trained once by ``python -m tools.make_test_model`` (rerun it when the file format
    changes) and loaded here. Shared by many tests: do not train it further or load into
    it; copy it by saving and loading instead.
    """
    return loadCharBasedSeq2SeqGenerator(TINY_MODEL_PATH)


@pytest.fixture(scope="session")
def model_file(trained_generator, tmp_path_factory) -> Path:
    """``trained_generator`` saved as a final model file, for the commands and the server."""
    path = tmp_path_factory.mktemp("model") / "tiny.h5"
    trained_generator.save_compact_model(path, final=True)
    return path
