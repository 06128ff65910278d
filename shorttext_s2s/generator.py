"""Character-level sequence-to-sequence generation: the user-facing model."""

from __future__ import annotations

import os
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

import keras
import numpy as np

from .data import conversation_pairs, iter_lines
from .decoding import BeamSearchStrategy, DecodingStrategy, decode_texts, get_strategy
from .encoder import SentenceToCharVecEncoder
from .exceptions import InputDataError, ModelFileError, ModelNotTrainedException, PathLike
from .fileformat import read_model_file, write_model_file
from .model import MODEL_SUFFIX, Seq2SeqWithKeras

__all__ = ["CharBasedSeq2SeqGenerator", "loadCharBasedSeq2SeqGenerator"]

Pairs = Iterable[Tuple[str, str]]


class CharBasedSeq2SeqGenerator:
    """Character-level seq2seq model: learns to answer a text with another text.

    Train it on a conversation (:meth:`train`: each line is answered by the next, as in
    Vinyals & Le, "A Neural Conversational Model") or on explicit pairs such as translations
    (:meth:`train_pairs`), then :meth:`decode` new text.

    Args:
        sent2charvec_encoder: the character vocabulary (:class:`SentenceToCharVecEncoder`).
        latent_dim: number of units of the encoder and decoder LSTMs.
        maxlen: longest sequence, in characters, the start/end signal included: longer inputs
            and targets are cut, and decoding stops after ``maxlen - 1`` characters.

    Attributes:
        s2sgenerator: the underlying :class:`Seq2SeqWithKeras`.

    Example:

    >>> encoder = SentenceToCharVecEncoder("abcdefghijklmnopqrstuvwxyz !")
    >>> generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=16, maxlen=20)
    >>> history = generator.train_pairs([("hi", "hello!")] * 8, epochs=2, verbose=0)
    >>> isinstance(generator.decode("hi", stochastic=False), str)
    True
    """

    def __init__(self, sent2charvec_encoder: SentenceToCharVecEncoder, latent_dim: int,
                 maxlen: int) -> None:
        if not isinstance(sent2charvec_encoder, SentenceToCharVecEncoder):
            raise TypeError(f"`sent2charvec_encoder` must be a SentenceToCharVecEncoder, got "
                            f"{type(sent2charvec_encoder).__name__}; build one with "
                            f"initSentenceToCharVecEncoder().")
        if isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 2:
            raise ValueError(f"Received an invalid value for argument `maxlen`, expected an "
                             f"integer >= 2, got {maxlen!r}.")
        self.encoder = sent2charvec_encoder
        self.latent_dim = int(latent_dim)
        self.maxlen = int(maxlen)
        self.s2sgenerator = Seq2SeqWithKeras(len(self.encoder), self.latent_dim)

    @property
    def trained(self) -> bool:
        """Whether the model was trained or loaded, i.e. can decode and be saved."""
        return self.s2sgenerator.trained

    def get_config(self) -> dict:
        """Return the constructor's hyperparameters (the encoder is described separately)."""
        return {"latent_dim": self.latent_dim, "maxlen": self.maxlen}

    def compile(self, optimizer: Any = "rmsprop", loss: Any = "categorical_crossentropy",
                **kwargs: Any) -> None:
        """Build and compile the Keras model.

        Args:
            optimizer: Keras optimizer name or instance (``sgd``, ``rmsprop``, ``adam``...).
                Defaults to ``"rmsprop"``.
            loss: Keras loss. Defaults to ``"categorical_crossentropy"``.
            **kwargs: passed on to ``keras.Model.compile``.
        """
        self.s2sgenerator.compile(optimizer=optimizer, loss=loss, **kwargs)

    # --- data ----------------------------------------------------------------------------

    def _conversation(self, txtseq: Union[str, Sequence[str]]) -> List[Tuple[str, str]]:
        lines = txtseq.splitlines() if isinstance(txtseq, str) else list(iter_lines(txtseq))
        return conversation_pairs(lines)

    def encode_pairs(self, pairs: Pairs) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Encode ``(input, target)`` pairs as ids: encoder input, decoder input, output.

        Returns:
            Three ``int32`` arrays of shape ``(len(pairs), maxlen)``. The encoder input is the
            input followed by the signal; the decoder input is the signal followed by the
            target; the decoder output is the target followed by the signal.
        """
        pairs = list(pairs)
        if not pairs:
            raise InputDataError("no training pairs given")
        sources = [source for source, _ in pairs]
        targets = [target for _, target in pairs]
        encode = self.encoder.encode_sentences
        return (encode(sources, self.maxlen, endsig=True),
                encode(targets, self.maxlen, startsig=True),
                encode(targets, self.maxlen, endsig=True))

    def prepare_trainingdata(self, txtseq: Union[str, Sequence[str]]
                             ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Encode a conversation as the three one-hot tensors the seed API returns.

        Args:
            txtseq: a text (split into lines) or a list of lines; each line is paired with the
                next.

        Returns:
            ``(encoder_input, decoder_input, decoder_output)``, each ``float32`` of shape
            ``(len(lines) - 1, maxlen, len(encoder))``.
        """
        ids = self.encode_pairs(self._conversation(txtseq))
        return tuple(self.encoder.onehot(part) for part in ids)

    # --- training ------------------------------------------------------------------------

    def train(self, txtseq: Union[str, Sequence[str]], batch_size: int = 64, epochs: int = 100,
              optimizer: Any = "rmsprop", loss: Any = "categorical_crossentropy",
              **kwargs: Any) -> keras.callbacks.History:
        """Train on a conversation: each line learns to be answered by the next one.

        Args:
            txtseq: a text (split into lines) or a list of lines.
            batch_size: samples per gradient step. Defaults to 64.
            epochs: passes over the data. Defaults to 100.
            optimizer: used when the model is not compiled yet. Defaults to ``"rmsprop"``.
            loss: used when the model is not compiled yet.
            **kwargs: see :meth:`train_pairs`.

        Returns:
            The Keras ``History``.
        """
        return self.train_pairs(self._conversation(txtseq), batch_size=batch_size,
                                epochs=epochs, optimizer=optimizer, loss=loss, **kwargs)

    def train_pairs(self, pairs: Pairs, batch_size: int = 64, epochs: int = 100,
                    optimizer: Any = "rmsprop", loss: Any = "categorical_crossentropy",
                    **kwargs: Any) -> keras.callbacks.History:
        """Train on explicit ``(input, target)`` pairs, e.g. translations.

        Args:
            pairs: ``(input text, target text)`` tuples.
            batch_size: samples per gradient step. Defaults to 64.
            epochs: passes over the data. Defaults to 100.
            optimizer: used when the model is not compiled yet. Defaults to ``"rmsprop"``.
            loss: used when the model is not compiled yet.
            **kwargs: passed on to ``keras.Model.fit`` (``verbose``, ``callbacks``...).

        Returns:
            The Keras ``History``.
        """
        if not self.s2sgenerator.compiled:
            self.compile(optimizer=optimizer, loss=loss)
        encoder_ids, decoder_ids, target_ids = self.encode_pairs(pairs)
        onehot = self.encoder.onehot
        return self.s2sgenerator.fit(onehot(encoder_ids), onehot(decoder_ids),
                                     onehot(target_ids), batch_size=batch_size, epochs=epochs,
                                     **kwargs)

    # --- decoding ------------------------------------------------------------------------

    def decode(self, txtseq: str, stochastic: bool = True, *,
               strategy: Union[str, DecodingStrategy, None] = None,
               seed: Optional[int] = None) -> str:
        """Answer one text.

        Inputs longer than ``maxlen - 1`` characters are cut to that length, characters
        outside the vocabulary are read as the unknown id, and the empty text is answered
        like any other (the encoder sees the end signal alone). The answer has at most
        ``maxlen - 1`` characters.

        Args:
            txtseq: the input text.
            stochastic: sample each character from the softmax (the default, as in
                shorttext) or take the most likely one (greedy). Ignored if ``strategy`` is
                given.
            strategy: ``"greedy"``, ``"sample"``, ``"beam"`` or a strategy object from
                :mod:`shorttext_s2s.decoding` (e.g. ``get_strategy("sample", top_k=5)``).
            seed: random seed making sampling repeatable. Defaults to drawing one from NumPy's
                global generator (repeatable after ``keras.utils.set_random_seed``).

        Returns:
            The output text, without signal characters.

        Raises:
            TypeError: ``txtseq`` is not a ``str``.
            ModelNotTrainedException: the model was neither trained nor loaded.

        Example:

        >>> generator.decode("Hi.", stochastic=False)  # doctest: +SKIP
        'Salut.'
        """
        if not isinstance(txtseq, str):
            raise TypeError(f"decode() takes a str, got {type(txtseq).__name__}; use "
                            f"decode_batch() for several texts.")
        if strategy is None:
            strategy = "sample" if stochastic else "greedy"
        return self.decode_batch([txtseq], strategy=strategy, seed=seed)[0]

    def decode_batch(self, texts: Sequence[str],
                     strategy: Union[str, DecodingStrategy] = "greedy",
                     seed: Optional[int] = None) -> List[str]:
        """Answer several texts at once, decoded together in compiled batches.

        Args:
            texts: the input texts (see :meth:`decode` for long, empty or unusual ones).
            strategy: ``"greedy"`` (the default, reproducible), ``"sample"``, ``"beam"`` or a
                strategy object from :mod:`shorttext_s2s.decoding`.
            seed: random seed for sampling; see :meth:`decode`.

        Returns:
            One output text per input, in order.

        Raises:
            TypeError: ``texts`` is a single ``str`` or contains something else than ``str``.
            ModelNotTrainedException: the model was neither trained nor loaded.

        Example:

        >>> generator.decode_batch(["Hi.", "Run!"])  # doctest: +SKIP
        ['Salut.', 'Cours !']
        """
        strategy = get_strategy(strategy)
        return [found[0][0] for found in self._decode_texts(texts, strategy, seed, 1)]

    def decode_nbest(self, txtseq: str, beam_width: int = 5, num_results: Optional[int] = None,
                     length_penalty: float = 1.0) -> List[Tuple[str, float]]:
        """Beam search: the best answers to one text with their log-probabilities.

        Args:
            txtseq: the input text.
            beam_width: hypotheses kept at each step. Defaults to 5.
            num_results: how many answers to return at most. Defaults to ``beam_width``.
            length_penalty: answers are ranked by ``log_probability / length **
                length_penalty`` (length in characters plus the end signal). Defaults to 1.

        Returns:
            Up to ``num_results`` distinct ``(text, log_probability)`` pairs, best first; the
            log-probability is that of the text followed by the end signal under the model
            (the distribution renormalised without the reserved ids).

        Raises:
            TypeError: ``txtseq`` is not a ``str``.
            ValueError: an argument is out of range.
            ModelNotTrainedException: the model was neither trained nor loaded.

        Example:

        >>> generator.decode_nbest("Hi.", beam_width=3, num_results=2)  # doctest: +SKIP
        [('Salut.', -0.41), ('Salut !', -1.73)]
        """
        if not isinstance(txtseq, str):
            raise TypeError(f"decode_nbest() takes a str, got {type(txtseq).__name__}.")
        num_results = beam_width if num_results is None else num_results
        strategy = BeamSearchStrategy(beam_width=beam_width, length_penalty=length_penalty,
                                      num_results=num_results)
        return self._decode_texts([txtseq], strategy, None, num_results)[0]

    def _decode_texts(self, texts: Sequence[str], strategy: DecodingStrategy,
                      seed: Optional[int], num_results: int) -> List[List[Tuple[str, float]]]:
        if not self.trained:
            raise ModelNotTrainedException("decoding needs a trained or loaded model.")
        return decode_texts(self.s2sgenerator.model, self.encoder, self.maxlen, texts,
                            strategy, seed=seed, num_results=num_results)

    # --- persistence ---------------------------------------------------------------------

    def savemodel(self, prefix: PathLike, final: bool = False) -> str:
        """Save the model to ``prefix + MODEL_SUFFIX`` (one file, as :meth:`save_compact_model`).

        Args:
            prefix: path prefix.
            final: if true, save only what inference needs; otherwise also the optimizer state
                so that training can continue.

        Returns:
            The path written.

        Raises:
            ModelNotTrainedException: nothing to save yet.
        """
        path = os.fspath(prefix) + MODEL_SUFFIX
        self.save_compact_model(path, final=final)
        return path

    def loadmodel(self, prefix: PathLike) -> None:
        """Load what :meth:`savemodel` wrote with the same ``prefix`` into this object."""
        self.load_compact_model(os.fspath(prefix) + MODEL_SUFFIX)

    def save_compact_model(self, path: PathLike, final: bool = False) -> None:
        """Save weights, vocabulary, hyperparameters and optimizer state to one file.

        The file is written beside ``path`` and renamed over it when complete: an interrupted
        save leaves any previous file intact.

        Args:
            path: file to write (conventionally ending in ``.h5``).
            final: if true, leave out the optimizer state (inference only).

        Raises:
            ModelNotTrainedException: nothing to save yet.
        """
        contents = self.s2sgenerator.to_model_file(final=final, kind=type(self).__name__)
        contents.config["generator"] = self.get_config()
        contents.config["encoder"] = self.encoder.get_config()
        write_model_file(path, contents)

    def load_compact_model(self, path: PathLike) -> None:
        """Replace this object's model, vocabulary and hyperparameters with a saved file's.

        Raises:
            ModelFileError: the file is missing, damaged or not a generator model file.
        """
        loaded = loadCharBasedSeq2SeqGenerator(path)
        self.__dict__.update(loaded.__dict__)


def loadCharBasedSeq2SeqGenerator(path: PathLike, compact: bool = True
                                  ) -> CharBasedSeq2SeqGenerator:
    """Load a :class:`CharBasedSeq2SeqGenerator` from file.

    Args:
        path: the file written by ``save_compact_model`` (``compact=True``, the default) or
            the prefix given to ``savemodel`` (``compact=False``).
        compact: whether ``path`` is a compact file rather than a prefix.

    Returns:
        The generator, ready to decode (and to train further unless saved as final).

    Raises:
        ModelFileError: the file is missing, damaged or not a generator model file.
    """
    path = os.fspath(path) if compact else os.fspath(path) + MODEL_SUFFIX
    contents = read_model_file(path, kind=CharBasedSeq2SeqGenerator.__name__)
    try:
        encoder = SentenceToCharVecEncoder.from_config(contents.config["encoder"])
        generator = CharBasedSeq2SeqGenerator(encoder, **contents.config["generator"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(path, f"invalid model description ({exc})") from None
    if generator.s2sgenerator.get_config() != contents.config.get("model"):
        raise ModelFileError(path, "the vocabulary does not match the stored model")
    generator.s2sgenerator.restore_model_file(contents, path)
    return generator
