"""The demo: a small chatbot trained on the ChatterBot corpus, start to finish.

It is what ``shorttext-s2s demo`` runs: read the English conversations of the corpus (the
``demo`` extra), train a character-level model on the short exchanges, save it as one model
file, and answer a few prompts, greedily and by sampling. The default settings finish in a few
minutes on a two-core CPU; ``quick=True`` trains a tiny model for seconds, to check that
everything is installed.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Tuple

from . import catalog
from .exceptions import PathLike

if TYPE_CHECKING:
    from .generator import CharBasedSeq2SeqGenerator

__all__ = ["DEMO_PROMPTS", "DemoSettings", "demo_settings", "run_demo"]

#: What the demo asks the trained chatbot.
DEMO_PROMPTS: Tuple[str, ...] = ("Hello", "How are you doing?", "What is your name?",
                                 "Happy Holiday!", "Tell me a joke.", "Do you like movies?")


class DemoSettings:
    """Hyperparameters of the demo's model and training.

    Args:
        epochs: passes over the data.
        latent_dim: units of the decoder LSTM (even: the encoder has half each way).
        max_chars: keep only exchanges whose both sides have at most this many characters;
            the model's ``maxlen`` is one more.
        batch_size: pairs per gradient step.
        length_step: batches are padded to a multiple of this length (see
            :meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.train_pairs`); fewer distinct
            lengths mean fewer compilations.
        learning_rate: Adam's learning rate.
        temperature: temperature of the sampled replies.
    """

    def __init__(self, epochs: int, latent_dim: int, max_chars: int = 48, batch_size: int = 32,
                 length_step: int = 8, learning_rate: float = 0.005,
                 temperature: float = 0.6) -> None:
        self.epochs = epochs
        self.latent_dim = latent_dim
        self.max_chars = max_chars
        self.batch_size = batch_size
        self.length_step = length_step
        self.learning_rate = learning_rate
        self.temperature = temperature

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in vars(self).items())
        return f"DemoSettings({fields})"


def demo_settings(quick: bool = False, epochs: Optional[int] = None,
                  latent_dim: Optional[int] = None) -> DemoSettings:
    """The demo's settings: the full demo's, or the quick check's, with optional overrides.

    Args:
        quick: a tiny model trained for a few epochs (seconds) instead of the full demo.
        epochs: overrides the number of epochs.
        latent_dim: overrides the number of units.

    Returns:
        The settings.

    Example:

    >>> demo_settings(quick=True, epochs=1).epochs
    1
    """
    if quick:
        # Short exchanges padded to one length: a single compiled shape, so that the check
        # takes seconds on every backend (JAX compiles each new shape).
        settings = DemoSettings(epochs=2, latent_dim=16, max_chars=24, length_step=25,
                                learning_rate=0.01)
    else:
        settings = DemoSettings(epochs=70, latent_dim=256)
    if epochs is not None:
        settings.epochs = epochs
    if latent_dim is not None:
        settings.latent_dim = latent_dim
    return settings


def run_demo(output: PathLike = "shorttext-s2s-demo.h5", epochs: Optional[int] = None,
             latent_dim: Optional[int] = None, quick: bool = False, seed: Optional[int] = 0,
             prompts: Sequence[str] = DEMO_PROMPTS, verbose: Any = "auto",
             echo: Callable[[str], None] = print, command: str = "shorttext-s2s"
             ) -> "CharBasedSeq2SeqGenerator":
    """Train the demo chatbot, save it, and print its replies to ``prompts``.

    Args:
        output: the model file to write. Defaults to ``shorttext-s2s-demo.h5`` in the current
            directory.
        epochs: overrides the number of epochs (70, or 2 with ``quick``).
        latent_dim: overrides the number of units of the decoder LSTM, an even number (256,
            or 16 with ``quick``).
        quick: train a tiny model for seconds; its replies are not meant to make sense.
        seed: seed of the initial weights, the batch order and the sampled replies; ``None``
            for a different run each time.
        prompts: the sentences to answer.
        verbose: Keras progress output while training (``"auto"``, 0, 1 or 2).
        echo: where the messages and replies go, one string at a time.
        command: how the user runs the command line, for the closing hint (e.g.
            ``.venv/bin/shorttext-s2s``).

    Returns:
        The trained generator.

    Raises:
        MissingExtraError: the corpus or PyYAML is not installed (the ``demo`` extra).
        OSError: ``output`` cannot be written.
    """
    import keras

    from .corpus import corpus_pairs
    from .decoding import get_strategy
    from .encoder import SentenceToCharVecEncoder
    from .generator import CharBasedSeq2SeqGenerator

    settings = demo_settings(quick, epochs, latent_dim)
    pairs = corpus_pairs("english", max_chars=settings.max_chars)
    echo(f"Read {len(pairs)} distinct exchanges of at most {settings.max_chars} characters "
         f"from the English ChatterBot corpus.")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    encoder = SentenceToCharVecEncoder.from_texts(source + target for source, target in pairs)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=settings.latent_dim,
                                          maxlen=settings.max_chars + 1,
                                          example_input="Happy Holiday!")
    # Clipping keeps Adam's late epochs from undoing what was learnt (seen without it).
    generator.compile(optimizer=keras.optimizers.Adam(settings.learning_rate, clipnorm=1.0))
    echo(f"Training a character-level seq2seq model ({generator.network_name} network): "
         f"{settings.latent_dim} units, "
         f"{len(encoder)} symbols, {settings.epochs} epochs"
         f"{' (quick check: expect gibberish)' if quick else ''}...")
    started = time.perf_counter()
    history = generator.train_pairs(pairs, batch_size=settings.batch_size,
                                    epochs=settings.epochs, seed=seed, verbose=verbose,
                                    length_step=settings.length_step)
    minutes, seconds = divmod(time.perf_counter() - started, 60)
    kept = "" if verbose else (f"; the weights of epoch {history.selection.epoch} kept "
                               f"({history.selection.describe()})")
    echo(f"Trained in {int(minutes)} min {seconds:.0f} s{kept}.")

    generator.save_compact_model(output, final=True)
    path = os.path.abspath(os.fspath(output))
    echo(f"Model saved to {path} ({os.path.getsize(path) / 1e6:.1f} MB).")
    echo(f"Talk to it with:  {command} chat {os.fspath(output)}")

    prompts = list(prompts)
    greedy = generator.decode_batch(prompts, strategy=catalog.GREEDY)
    sampler = get_strategy(catalog.SAMPLE, temperature=settings.temperature)
    sampled = generator.decode_batch(prompts, strategy=sampler, seed=seed)
    echo(f"Replies, greedy (the most likely characters) and sampled (temperature "
         f"{settings.temperature}):")
    for prompt, first, second in zip(prompts, greedy, sampled):
        echo("")
        echo(f"> {prompt}")
        echo(f"  greedy:  {first}")
        echo(f"  sampled: {second}")
    return generator
