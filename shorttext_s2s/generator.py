"""Character-level sequence-to-sequence generation: the user-facing model."""

from __future__ import annotations

import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import keras
import numpy as np

from ._checks import check_bool, check_int
from .data import check_pairs, conversation_pairs, iter_lines
from .decoding import BeamSearchStrategy, DecodingStrategy, decode_texts, get_strategy
from .encoder import MAX_SEQUENCE_LENGTH, SentenceToCharVecEncoder
from .exceptions import (
    InputDataError,
    InputWarning,
    ModelFileError,
    ModelNotTrainedException,
    PathLike,
)
from .fileformat import ModelFile
from .model import Seq2SeqWithKeras
from .networks import DEFAULT_NETWORK
from .persistence import CompactIOMachine, load_compact, read_description
from .training import Trainer

__all__ = ["CharBasedSeq2SeqGenerator", "loadCharBasedSeq2SeqGenerator"]

#: ``(input, target)`` pairs, or ``(input, target, features)`` triples.
Pairs = Iterable[Sequence[str]]
Features = Optional[Sequence[Optional[str]]]


class CharBasedSeq2SeqGenerator(CompactIOMachine):
    """Character-level seq2seq model: learns to answer a text with another text.

    Train it on a conversation (:meth:`train`: each line is answered by the next, as in
    Vinyals & Le, "A Neural Conversational Model") or on pairs such as translations or a
    word and its pronunciation (:meth:`train_pairs`), :meth:`decode` new text, save it to one
    file (:meth:`save_compact_model`) and load it (:func:`loadCharBasedSeq2SeqGenerator`).
    Texts are read and written one unit at a time: characters, or the units and features
    tags the vocabulary defines (:class:`SentenceToCharVecEncoder`).

    Args:
        sent2charvec_encoder: the vocabulary (:class:`SentenceToCharVecEncoder`): its
            units, separators and feature tags.
        latent_dim: number of units of the decoder, the transformer's width (see the network
            for the encoder's).
        maxlen: longest sequence, in units (characters), the start/end signal and an
            input's tags included (2 to ``MAX_SEQUENCE_LENGTH``): longer inputs and targets
            are cut, and decoding stops after ``maxlen - 1`` units.
        reverse_input: feed each input to the encoder backwards, so that its first
            characters are the last the encoder reads (Sutskever et al., 2014). Defaults to
            False, as in shorttext and the Keras example.
        network: ``"attention"`` (the default: an LSTM decoder attending to a bidirectional
            encoder's outputs), ``"lstm"`` (the network of shorttext and the Keras example)
            or ``"transformer"``; see :class:`Seq2SeqWithKeras`.
        example_input: an input that shows what the model is for (the chat page's
            placeholder), saved with it. Defaults to None: :meth:`train_pairs` then takes the
            first training pair's.
        **network_options: the network's own options, e.g. ``bidirectional=True`` for
            ``"lstm"``, ``dropout=0.3`` for ``"attention"``, ``heads=8`` for
            ``"transformer"``.

    Attributes:
        s2sgenerator: the underlying :class:`Seq2SeqWithKeras`.
        example_input: as given, or set by training.

    Example:

    >>> encoder = SentenceToCharVecEncoder("abcdefghijklmnopqrstuvwxyz !")
    >>> generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=16, maxlen=20)
    >>> history = generator.train_pairs([("hi", "hello!")] * 8, epochs=2, verbose=0)
    >>> isinstance(generator.decode("hi", stochastic=False), str)
    True
    """

    def __init__(self, sent2charvec_encoder: SentenceToCharVecEncoder, latent_dim: int,
                 maxlen: int, *, reverse_input: bool = False, network: str = DEFAULT_NETWORK,
                 example_input: Optional[str] = None, **network_options: Any) -> None:
        if not isinstance(sent2charvec_encoder, SentenceToCharVecEncoder):
            raise TypeError(f"`sent2charvec_encoder` must be a SentenceToCharVecEncoder, got "
                            f"{type(sent2charvec_encoder).__name__}; build one with "
                            f"initSentenceToCharVecEncoder().")
        self.encoder = sent2charvec_encoder
        self.maxlen = check_int(maxlen, "maxlen", 2, MAX_SEQUENCE_LENGTH)
        self.reverse_input = check_bool(reverse_input, "reverse_input")
        if example_input is not None and not isinstance(example_input, str):
            raise TypeError(f"`example_input` must be a str or None, got "
                            f"{type(example_input).__name__}.")
        self.example_input = example_input
        self.s2sgenerator = Seq2SeqWithKeras(len(self.encoder), latent_dim, network=network,
                                             **network_options)
        self.latent_dim = self.s2sgenerator.latent_dim

    network = property(lambda self: self.s2sgenerator.network.name,
                       doc="The name of the network: ``\"lstm\"``, ``\"attention\"``...")
    trained = property(lambda self: self.s2sgenerator.trained,
                       doc="Whether the model was trained (an epoch at least) or loaded.")
    epochs_trained = property(lambda self: self.s2sgenerator.epochs_trained,
                              doc="Epochs trained so far (saved in the model file).")

    def get_config(self) -> Dict[str, Any]:
        """Return the constructor's hyperparameters (the encoder is described separately)."""
        return {**_without_vecsize(self.s2sgenerator.get_config()), "maxlen": self.maxlen,
                "reverse_input": self.reverse_input}

    def compile(self, optimizer: Any = None, loss: Any = None, **kwargs: Any) -> None:
        """Build and compile the Keras model; see :meth:`Seq2SeqWithKeras.compile`."""
        self.s2sgenerator.compile(optimizer=optimizer, loss=loss, **kwargs)

    def encode_pairs(self, pairs: Pairs, *, name: str = "pairs"
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`SentenceToCharVecEncoder.encode_pairs` with this model's ``maxlen`` and
        ``reverse_input``: encoder input, decoder input and decoder output ids."""
        return self.encoder.encode_pairs(pairs, self.maxlen, reverse_input=self.reverse_input,
                                         name=name)

    def prepare_trainingdata(self, txtseq: Union[str, Sequence[str]]
                             ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Encode a conversation (a text or a list of lines, each paired with the next) as
        the seed API's ``(encoder_input, decoder_input, decoder_output)`` one-hot tensors."""
        ids = self.encode_pairs(_conversation(txtseq))
        return tuple(self.encoder.onehot(part) for part in ids)

    def train(self, txtseq: Union[str, Sequence[str]], batch_size: int = 64, epochs: int = 100,
              optimizer: Any = None, loss: Any = None,
              **kwargs: Any) -> keras.callbacks.History:
        """Train on a conversation (a text or lines): each line learns to be answered by the
        next (blank lines skipped; ``InputDataError`` for fewer than two). The other arguments
        are :meth:`train_pairs`'s."""
        return self.train_pairs(_conversation(txtseq), batch_size=batch_size, epochs=epochs,
                                optimizer=optimizer, loss=loss, **kwargs)

    def train_pairs(self, pairs: Pairs, batch_size: int = 64, epochs: int = 100,
                    optimizer: Any = None, loss: Any = None, *,
                    initial_epoch: int = 0, **options: Any) -> keras.callbacks.History:
        """Train on explicit ``(input, target)`` pairs, e.g. translations.

        Args:
            pairs: ``(input text, target text)`` tuples, or ``(input, target, features)``
                where the features are the input's tags (``"V;PST"``), read by the encoder
                after the input (see :class:`SentenceToCharVecEncoder`).
            batch_size: pairs per gradient step. Defaults to 64.
            epochs: index of the last epoch to run, as in Keras: with ``initial_epoch=10`` and
                ``epochs=15``, five epochs run. Defaults to 100.
            optimizer, loss: used when the model is not compiled yet. Default: the recipe's.
            initial_epoch: epoch to start at, for resuming by hand:
                ``train_pairs(..., initial_epoch=loaded.epochs_trained)``.
            **options: the options of :class:`~shorttext_s2s.training.Trainer`, which runs
                the training: ``validation_data``, ``validation_split``, ``callbacks``,
                ``early_stopping``, ``checkpoint``, ``resume``, ``verbose``, ``distribution``,
                ``seed``, ``length_step``, ``recipe``, ``validation_every``, ``time_budget``
                (seconds: "the best model in 15 minutes" is ``epochs=1000,
                time_budget=900``), ``feature_dropout``.

        Returns:
            The Keras ``History`` (``history.history["loss"]``, ...), with
            ``history.selection``, the epoch kept and why (see
            :meth:`shorttext_s2s.training.Trainer.train`).

        Raises:
            InputDataError: no pairs, or an item that is not a pair of strings.
            ValueError, TypeError: an invalid or unknown option (the message names it).
            TrainingStopped: a multi-process run was asked to stop (SIGINT or SIGTERM on any
                of its processes); the generator holds the weights of the batch it stopped at.
        """
        pairs = check_pairs(pairs)
        _check_features_known(self.encoder, pairs)
        if self.example_input is None:
            self.example_input = pairs[0][0]
        return Trainer(batch_size, **options).train(self, pairs, epochs=epochs,
                                                    initial_epoch=initial_epoch,
                                                    optimizer=optimizer, loss=loss)

    def evaluate(self, pairs: Pairs, strategy: Union[str, DecodingStrategy] = "greedy",
                 batch_size: int = 256,
                 metrics: Optional[Sequence[str]] = None, *,
                 target_sep: Optional[str] = None) -> Dict[str, float]:
        """Decode held-out inputs and score the outputs against their targets.

        Pairs with the same input (and features) are one input with several references (a
        word's pronunciations, a sentence's translations): its output is right when it
        equals any of them, and its error rate is measured against the closest.

        Args:
            pairs: ``(input, expected output)`` or ``(input, expected output, features)``
                tuples the model was not trained on.
            strategy: as for :meth:`decode_batch`. Defaults to greedy.
            batch_size: inputs decoded at once. Defaults to 256.
            metrics: the scores of :func:`shorttext_s2s.evaluation.score_texts` to compute;
                ``chrf`` and ``bleu`` need the ``metrics`` extra (sacrebleu). Defaults to
                ``exact_match``, ``cer``, ``chrf`` and ``bleu``, and ``ser`` when the
                model's outputs are units with a separator.
            target_sep: what separates the units of a target for the ``ser`` metric
                (``" "`` for phonemes: the phoneme error rate). Defaults to the model's
                ``target_sep`` (None: characters).

        Returns:
            dict: ``n`` (distinct inputs), ``exact_match`` (share of outputs equal to a
            reference: the word accuracy), ``cer`` (character error rate), ``ser`` (symbol
            error rate, if asked), ``chrf`` and ``bleu`` (0 to 100).

        Raises:
            ModelNotTrainedException, InputDataError, MissingExtraError.
        """
        from .evaluation import score_texts

        if not self.trained:
            raise ModelNotTrainedException("evaluate() needs a trained or loaded model.")
        pairs, batch_size = check_pairs(pairs), check_int(batch_size, "batch_size")
        if target_sep is None:
            target_sep = self.encoder.target_sep
        if metrics is None:
            metrics = ("exact_match", "cer") + (("ser",) if target_sep is not None else ()) \
                + ("chrf", "bleu")
        references: Dict[Tuple[str, Optional[str]], List[str]] = {}
        for pair in pairs:
            key = (pair[0], pair[2] if len(pair) > 2 else None)
            references.setdefault(key, []).append(pair[1])
        inputs = list(references)
        outputs = []
        for start in range(0, len(inputs), batch_size):
            chunk = inputs[start:start + batch_size]
            outputs += self.decode_batch([text for text, _ in chunk], strategy,
                                         features=[tags for _, tags in chunk])
        return score_texts(outputs, [references[key] for key in inputs],
                           metrics=metrics, separator=target_sep)

    # --- decoding ------------------------------------------------------------------------

    def decode(self, txtseq: str, stochastic: bool = True, *,
               strategy: Union[str, DecodingStrategy, None] = None,
               seed: Optional[int] = None, features: Optional[str] = None) -> str:
        """Answer one text.

        Inputs are cut to ``maxlen - 1`` units, unseen units read as the unknown id; the
        answer has at most ``maxlen - 1`` units (characters unless the model's outputs have
        a separator, which joins them).

        Args:
            txtseq: the input text.
            stochastic: sample each character from the softmax (the default, as in
                shorttext) or take the most likely one. Ignored if ``strategy`` is given.
            strategy: ``"greedy"``, ``"sample"``, ``"beam"`` or a strategy object from
                :mod:`shorttext_s2s.decoding` (e.g. ``get_strategy("sample", top_k=5)``).
            seed: random seed making sampling repeatable. Defaults to one drawn from NumPy's
                global generator (repeatable after ``keras.utils.set_random_seed``).
            features: the input's tags (``"V;PST"``), for a model trained with features.

        Raises:
            TypeError (``txtseq`` is not a ``str``), ModelNotTrainedException.
        """
        if not isinstance(txtseq, str):
            raise TypeError(f"decode() takes a str, got {type(txtseq).__name__}; use "
                            f"decode_batch() for several texts.")
        if strategy is None:
            strategy = "sample" if stochastic else "greedy"
        features = None if features is None else [features]
        found = self._decode_texts([txtseq], get_strategy(strategy), seed, 1, features)
        self._warn_about([txtseq], features)
        return found[0][0][0]

    def decode_batch(self, texts: Sequence[str],
                     strategy: Union[str, DecodingStrategy] = "greedy",
                     seed: Optional[int] = None, *, features: Features = None) -> List[str]:
        """Answer several texts at once, decoded together in compiled batches.

        ``strategy`` and ``seed`` are as for :meth:`decode`; the strategy defaults to
        ``"greedy"`` (reproducible). ``features``, for a model trained with them, gives
        each text's tags (None for none). Returns one output text per input, in order.

        Raises:
            TypeError (a single ``str``, or not all ``str``), ModelNotTrainedException.

        Example:

        >>> generator.decode_batch(["Hi.", "Run!"])  # doctest: +SKIP
        ['Salut.', 'Cours !']
        """
        strategy = get_strategy(strategy)
        found = self._decode_texts(texts, strategy, seed, 1, features)
        self._warn_about(texts, features)
        return [each[0][0] for each in found]

    def decode_nbest(self, txtseq: str, beam_width: int = 5, num_results: Optional[int] = None,
                     length_penalty: float = 1.0, *,
                     features: Optional[str] = None) -> List[Tuple[str, float]]:
        """Beam search: the best answers to one text with their log-probabilities.

        Args:
            txtseq: the input text.
            beam_width: hypotheses kept at each step. Defaults to 5.
            num_results: how many answers to return at most. Defaults to ``beam_width``.
            length_penalty: answers are ranked by ``log_probability / length **
                length_penalty`` (length in units plus the end signal). Defaults to 1.
            features: the input's tags, for a model trained with features.

        Returns up to ``num_results`` distinct ``(text, log_probability)`` pairs, best first
        (of the text and the end signal, renormalised without the reserved ids); raises
        ``TypeError``, ``ValueError`` and ``ModelNotTrainedException`` as :meth:`decode` does.
        """
        if not isinstance(txtseq, str):
            raise TypeError(f"decode_nbest() takes a str, got {type(txtseq).__name__}.")
        num_results = beam_width if num_results is None else num_results
        strategy = BeamSearchStrategy(beam_width=beam_width, length_penalty=length_penalty,
                                      num_results=num_results)
        features = None if features is None else [features]
        found = self._decode_texts([txtseq], strategy, None, num_results, features)[0]
        self._warn_about([txtseq], features)
        return found

    def export(self, path: PathLike, format: str = "saved_model",
               strategy: Union[str, DecodingStrategy] = "greedy", *,
               jit_compile: bool = True) -> str:
        """Write the whole decoder, text in and text out, for runtimes without this library.

        See :func:`shorttext_s2s.export.export_model` (the formats, what the export holds,
        and how to load it). Returns the path written.

        Example:

        >>> generator.export("fra-eng-savedmodel", strategy="beam")  # doctest: +SKIP
        'fra-eng-savedmodel'
        """
        from .export import export_model

        return export_model(self, path, format, strategy, jit_compile=jit_compile)

    def input_notes(self, texts: Sequence[str],
                    features: Features = None) -> List[Optional[str]]:
        """What the model will not read as given in each text, or None where it reads it all.

        A text is noted when it is empty (the model answers the start signal alone), when it
        has units (characters) or tags the model never saw (each read as the unknown id),
        or when it is longer than the ``maxlen - 1`` units the model reads (the rest is cut).

        Example:

        >>> generator.input_notes(["Hi.", "", "Hi\u2603"])  # doctest: +SKIP
        [None, 'empty', "characters the model never saw: '\u2603'"]
        """
        limit = self.maxlen - 1
        encoder = self.encoder
        what = "characters" if encoder.source_sep is None else "units"
        notes: List[Optional[str]] = []
        for index, text in enumerate(texts):
            tags = encoder.feature_units(features[index]) if features is not None else []
            units = encoder.source_units(text)
            if not units and not tags:
                notes.append("empty")
                continue
            parts = [_unseen(what, [unit for unit in units[:limit]
                                    if unit not in encoder.dictionary]),
                     _unseen("tags", [tag for tag in tags if tag not in encoder.feature_ids])]
            if len(units) + len(tags) > limit:
                parts.append(f"{len(units) + len(tags)} {what}"
                             f"{' and tags' if tags else ''}, cut to the {limit} the model "
                             f"reads")
            notes.append("; ".join(part for part in parts if part) or None)
        return notes

    def _warn_about(self, texts: Sequence[str], features: Features = None) -> None:
        """One :class:`~shorttext_s2s.exceptions.InputWarning` for the texts of a call that
        are not read as given (up to three named)."""
        noted = [(text, note) for text, note in zip(texts, self.input_notes(texts, features))
                 if note]
        if not noted:
            return
        named = "; ".join(f"{text[:40]!r}{'...' if len(text) > 40 else ''}: {note}"
                          for text, note in noted[:3])
        more = f"; and {len(noted) - 3} more" if len(noted) > 3 else ""
        warnings.warn(f"{len(noted)} of {len(texts)} input(s) not read as given: {named}{more}",
                      InputWarning, stacklevel=3)

    def _decode_texts(self, texts: Sequence[str], strategy: DecodingStrategy,
                      seed: Optional[int], num_results: int,
                      features: Features = None) -> List[List[Tuple[str, float]]]:
        if not self.trained:
            raise ModelNotTrainedException("decoding needs a trained or loaded model.")
        if isinstance(features, str):
            raise TypeError("`features` must give each text's tags (a list of str or None), "
                            "got a single str; use decode(text, features=...) for one text.")
        # Under JAX, fit() keeps the weights being trained in its own state and writes them
        # to the layers at epoch ends: a callback decoding mid-epoch needs them written now.
        sync = getattr(self.s2sgenerator.model, "jax_state_sync", None)
        if sync is not None:
            sync()
        return decode_texts(self.s2sgenerator.network, self.encoder, self.maxlen, texts,
                            strategy, seed=seed, num_results=num_results,
                            reverse_input=self.reverse_input, features=features)

    # --- persistence: the two hooks of CompactIOMachine -----------------------------------

    def to_model_file(self, final: bool = False) -> ModelFile:
        """Describe the generator: its model's file, with the vocabulary and settings added."""
        contents = self.s2sgenerator.to_model_file(final=final)
        contents.kind = type(self).__name__
        contents.config["generator"] = {"maxlen": self.maxlen,
                                        "reverse_input": self.reverse_input}
        if self.example_input is not None:
            contents.config["generator"]["example_input"] = self.example_input
        contents.config["encoder"] = self.encoder.get_config()
        return contents

    @classmethod
    def from_model_file(cls, contents: ModelFile, path: str) -> "CharBasedSeq2SeqGenerator":
        """Build the generator a read file describes, with its weights and optimizer state."""
        description = read_description(contents, path)
        try:
            encoder = SentenceToCharVecEncoder.from_config(description["encoder"])
            generator = cls(encoder, **_without_vecsize(description["model"]),
                            **description["generator"])
        except KeyError as exc:
            raise ModelFileError(path, f"invalid model description (no {exc} entry)") from None
        except (TypeError, ValueError) as exc:
            raise ModelFileError(path, f"invalid model description ({exc})") from None
        if generator.s2sgenerator.get_config() != description["model"]:
            raise ModelFileError(path, "the vocabulary or a setting does not match the stored "
                                       "model")
        generator.s2sgenerator.restore(contents, path)
        return generator


def loadCharBasedSeq2SeqGenerator(path: PathLike, compact: bool = True
                                  ) -> CharBasedSeq2SeqGenerator:
    """Load a :class:`CharBasedSeq2SeqGenerator`, ready to decode (and to train further
    unless saved as final), from the file ``save_compact_model`` wrote (or, with
    ``compact=False``, the prefix given to ``savemodel``).

    Raises:
        ModelFileError: the file is missing, damaged or not a generator model file.
    """
    return load_compact(CharBasedSeq2SeqGenerator, path, compact)


def _unseen(what: str, units: Sequence[str]) -> Optional[str]:
    """``"characters the model never saw: 'x', 'y'"``, or None for none."""
    unseen = sorted(set(units))
    if not unseen:
        return None
    shown = ", ".join(repr(unit) for unit in unseen[:5])
    return (f"{what} the model never saw: {shown}"
            + (f" and {len(unseen) - 5} more" if len(unseen) > 5 else ""))


def _check_features_known(encoder: SentenceToCharVecEncoder, pairs: List[Tuple[str, ...]]
                          ) -> None:
    """Training pairs with features need a vocabulary that has tags (from_pairs builds one)."""
    if not encoder.features and any(len(pair) > 2 and pair[2] for pair in pairs):
        raise InputDataError("the pairs have features but the vocabulary has no tags: build "
                             "it from the pairs with SentenceToCharVecEncoder.from_pairs()")


def _without_vecsize(network_config: Dict[str, Any]) -> Dict[str, Any]:
    # The vocabulary's size is the encoder's: a generator is made from the rest.
    return {key: value for key, value in network_config.items() if key != "vecsize"}


def _conversation(txtseq: Union[str, Sequence[str]]) -> List[Tuple[str, str]]:
    lines = txtseq.splitlines() if isinstance(txtseq, str) else list(iter_lines(txtseq))
    return conversation_pairs(lines)
