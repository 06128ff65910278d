"""English to French, character by character: the Keras seq2seq example through shorttext_s2s.

The workflow of the classic Keras example (``lstm_seq2seq``), written with the library: read
the Anki/Tatoeba pairs, train an encoder-decoder (the library's default network, LSTMs with
attention), save it to one file, load it back, and translate sentences that training never
saw.

Run::

    python examples/translate_fra_eng.py                      # downloads fra-eng.zip once
    python examples/translate_fra_eng.py --data path/to/fra.txt
    python examples/translate_fra_eng.py --quick              # seconds: checks the workflow

The full run (10,000 pairs and 256 units, as the Keras example; at most 100 epochs, stopped
early when the validation score stops improving) takes about an hour on a two-core CPU.
"""

from __future__ import annotations

import argparse
import os
import random
import time
import zipfile

import keras

from shorttext_s2s import (CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder,
                           loadCharBasedSeq2SeqGenerator)
from shorttext_s2s.data import read_pairs

#: The Anki export of Tatoeba's English-French pairs, as downloaded by the Keras example.
ANKI_URL = "http://www.manythings.org/anki/fra-eng.zip"


def download_fra_eng() -> str:
    """Download (once; Keras caches it under ~/.keras/datasets) and unpack ``fra.txt``."""
    try:
        archive = keras.utils.get_file("fra-eng.zip", origin=ANKI_URL)
    except Exception as error:  # no network, a proxy, a refusal: each ends the same way
        reason = " ".join(str(error).split())
        raise SystemExit(f"translate_fra_eng.py: error: cannot download {ANKI_URL} ({reason}); "
                         f"download it elsewhere and pass --data path/to/fra.txt") from None
    directory = os.path.join(os.path.dirname(archive), "fra-eng")
    path = os.path.join(directory, "fra.txt")
    if not os.path.exists(path):
        with zipfile.ZipFile(archive) as bundle:
            bundle.extract("fra.txt", directory)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="a pairs file (default: download the Anki fra-eng file)")
    parser.add_argument("--num-samples", type=int, default=10000,
                        help="pairs to read from the start of the file (default: 10000)")
    parser.add_argument("--held-out", type=int, default=200,
                        help="English sentences kept out of training, with all their "
                             "translations, and scored at the end (default: 200)")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--latent-dim", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output", default="fra-eng.s2s.h5", help="the model file to write")
    parser.add_argument("--quick", action="store_true",
                        help="200 pairs (10 sentences held out), a tiny model, 3 epochs: "
                             "checks the workflow, translates badly")
    args = parser.parse_args()
    if args.quick:
        args.num_samples, args.epochs, args.latent_dim, args.held_out = 200, 3, 32, 10

    # 1. The pairs: English source, French target (a third attribution column is ignored).
    path = args.data or download_fra_eng()
    pairs = read_pairs(path, limit=args.num_samples)
    # Hold out English sentences chosen at random, with all their translations: the final
    # check is on sentences training never saw.
    rng = random.Random(0)
    held_sources = set(rng.sample(sorted({source for source, _ in pairs}), args.held_out))
    held_out = [pair for pair in pairs if pair[0] in held_sources]
    training = [pair for pair in pairs if pair[0] not in held_sources]
    print(f"{len(training)} training pairs, {len(held_out)} held out, from {path}")

    # 2. The model: one vocabulary for both sides; maxlen fits the longest text and a signal.
    keras.utils.set_random_seed(0)
    encoder = SentenceToCharVecEncoder.from_texts(s + t for s, t in training)
    maxlen = max(max(len(s), len(t)) for s, t in training) + 1
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=args.latent_dim, maxlen=maxlen)

    # 3. Training with the network's recipe: 5% of the pairs, drawn at random, are translated
    # and scored every second epoch; training stops after 6 epochs without a better score and
    # keeps the best epoch's weights.
    started = time.perf_counter()
    generator.train_pairs(training, batch_size=args.batch_size, epochs=args.epochs,
                          validation_split=0.05, early_stopping=6, seed=0, verbose=2)
    print(f"trained in {time.perf_counter() - started:.0f} s; kept the weights of epoch "
          f"{generator.seq2seq.weights_epoch}")

    # 4. One file holds the weights, the vocabulary and the hyperparameters.
    generator.save_compact_model(args.output, final=True)
    restored = loadCharBasedSeq2SeqGenerator(args.output)
    print(f"saved to {args.output} and loaded back")

    # 5. Translate the held-out sentences (greedy decoding, as the Keras example does).
    sources = [source for source, _ in held_out]
    translations = restored.decode_batch(sources, strategy="greedy")
    assert translations == generator.decode_batch(sources, strategy="greedy"), \
        "the reloaded model should translate exactly as the trained one"
    for (source, reference), translation in list(zip(held_out, translations))[:10]:
        print(f"{source!r} -> {translation!r}  (reference: {reference!r})")
    scores = restored.evaluate(held_out, metrics=("exact_match", "cer"))
    print(f"{len(held_out)} held-out pairs: exact match {scores['exact_match']:.3f}, "
          f"character error rate {scores['cer']:.3f}")


if __name__ == "__main__":
    main()
