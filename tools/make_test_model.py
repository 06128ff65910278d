"""Write ``tests/data/tiny_model.h5``, the small trained model that most tests share.

Training it in every test session cost about a tenth of the fast test loop, so it is trained
once, here, and the suite loads it (``trained_generator`` in ``tests/conftest.py``). Run this
again when the model-file format changes, from the repository root::

    python -m tools.make_test_model

It trains on the first 24 pairs of ``tests/data/en-fr.tsv`` (written for the project) until
greedy decoding reproduces every one, and saves the model with its optimizer state.
"""

from __future__ import annotations

import sys
from pathlib import Path

import keras

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "tests" / "data" / "tiny_model.h5"


def main() -> int:
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import first_unique_pairs
    from shorttext_s2s import CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder

    pairs = first_unique_pairs(24)
    keras.utils.set_random_seed(1234)
    encoder = SentenceToCharVecEncoder.from_texts([s + t for s, t in pairs])
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=32, maxlen=32, network="lstm")
    generator.compile(optimizer=keras.optimizers.Adam(0.02))
    generator.train_pairs(pairs, epochs=120, batch_size=8, verbose=0, seed=0)
    outputs = generator.decode_batch([source for source, _ in pairs])
    wrong = [(s, t, o) for (s, t), o in zip(pairs, outputs) if o != t]
    if wrong:
        print(f"not saved: {len(wrong)} pairs not reproduced, e.g. {wrong[0]}", file=sys.stderr)
        return 1
    generator.save_compact_model(OUTPUT)
    print(f"wrote {OUTPUT.relative_to(REPO)} ({OUTPUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
