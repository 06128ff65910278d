"""A character-level chatbot: conversational training, then ``decode('Happy Holiday!')``.

A conversation is a list of utterances, each answered by the next one (Vinyals & Le, "A Neural
Conversational Model", 2015). This example trains on the English conversations of the
ChatterBot corpus (``pip install 'shorttext-s2s[demo]'``), or on your own conversation file
(one utterance a line), then answers as shorttext's documentation does.

Run::

    python examples/chatbot.py                        # the ChatterBot corpus, a few minutes
    python examples/chatbot.py --conversation my.txt  # your own conversation
    python examples/chatbot.py --quick                # seconds: checks the workflow
"""

from __future__ import annotations

import argparse

import keras

from shorttext_s2s import CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder
from shorttext_s2s.corpus import corpus_pairs
from shorttext_s2s.data import read_lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversation", help="a text file, one utterance a line "
                                               "(default: the ChatterBot corpus)")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--latent-dim", type=int, default=256)
    parser.add_argument("--max-chars", type=int, default=48,
                        help="longest utterance kept from the corpus (default: 48)")
    parser.add_argument("--output", default="chatbot.s2s.h5", help="the model file to write")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny model, 2 epochs: checks the workflow, answers gibberish")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.latent_dim, args.max_chars = 2, 16, 24

    keras.utils.set_random_seed(0)
    if args.conversation:
        # One conversation: line i is answered by line i + 1.
        texts = read_lines(args.conversation)
    else:
        # Many short conversations: consecutive utterances within each one are paired.
        pairs = corpus_pairs("english", max_chars=args.max_chars)
        texts = [text for pair in pairs for text in pair]
        print(f"{len(pairs)} exchanges from the ChatterBot corpus")

    # The vocabulary is every character seen; maxlen fits the longest utterance and a signal.
    encoder = SentenceToCharVecEncoder.from_texts(texts)
    maxlen = max(len(text) for text in texts) + 1
    chatbot = CharBasedSeq2SeqGenerator(encoder, latent_dim=args.latent_dim, maxlen=maxlen)
    chatbot.compile(optimizer=keras.optimizers.Adam(0.005, clipnorm=1.0))
    if args.conversation:
        chatbot.train(texts, batch_size=32, epochs=args.epochs, verbose=2)
    else:
        chatbot.train_pairs(pairs, batch_size=32, epochs=args.epochs, seed=0, verbose=2)
    chatbot.save_compact_model(args.output)
    print(f"saved to {args.output}")

    # Sampling (the default of decode, as in shorttext) gives a different reply each time;
    # greedy decoding gives the single most likely one.
    for _ in range(3):
        print("Happy Holiday! ->", chatbot.decode("Happy Holiday!"))
    print("Happy Holiday! (greedy) ->", chatbot.decode("Happy Holiday!", stochastic=False))


if __name__ == "__main__":
    main()
