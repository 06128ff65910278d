"""Shared fixtures: the real fra-eng pairs and one small model trained once per session."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import keras
import pytest

from shorttext_s2s import CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder
from shorttext_s2s.data import read_pairs

REPO = Path(__file__).resolve().parents[1]
#: The data the project reads by relative path; CI has it beside the checkout.
FRA_PATH = REPO.parent / "shared" / "data" / "fra-eng" / "fra.txt"


def first_unique_pairs(count: int, skip: int = 0) -> List[Tuple[str, str]]:
    """The first ``count`` pairs of fra.txt with distinct English sides (after ``skip``)."""
    seen, pairs = set(), []
    for source, target in read_pairs(FRA_PATH, limit=20 * (count + skip) + 100):
        if source not in seen:
            seen.add(source)
            pairs.append((source, target))
    return pairs[skip:skip + count]


@pytest.fixture(scope="session")
def fra_path() -> Path:
    if not FRA_PATH.exists():
        pytest.fail(f"missing test data {FRA_PATH}: the tests read ../shared/data/fra-eng/fra.txt")
    return FRA_PATH


@pytest.fixture(scope="session")
def tiny_pairs(fra_path) -> List[Tuple[str, str]]:
    """24 short English→French pairs with distinct inputs."""
    return first_unique_pairs(24)


@pytest.fixture(scope="session")
def trained_generator(tiny_pairs) -> CharBasedSeq2SeqGenerator:
    """A model trained (a few seconds) until greedy decoding reproduces ``tiny_pairs``.

    Shared by many tests: do not train it further or load into it; copy it by saving and
    loading instead.
    """
    keras.utils.set_random_seed(1234)
    encoder = SentenceToCharVecEncoder.from_texts([s + t for s, t in tiny_pairs])
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=32, maxlen=32)
    generator.compile(optimizer=keras.optimizers.Adam(0.02))
    generator.train_pairs(tiny_pairs, epochs=120, batch_size=8, verbose=0, seed=0)
    return generator
