"""Character-level sequence-to-sequence generation: the user-facing model."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import keras
import numpy as np

from . import catalog
from ._checks import check_bool, check_int
from .data import check_pairs, conversation_pairs, iter_lines
from .decoding import DecodingStrategy
from .encoder import MAX_SEQUENCE_LENGTH, SentenceToCharVecEncoder
from .evaluation import evaluate_generator
from .exceptions import InputDataError, ModelFileError, ModelNotTrainedException, PathLike
from .export import export_model
from .model import Seq2SeqWithKeras
from .saving.compact import CompactIOMachine, load_compact
from .saving.container import ModelFile
from .saving.description import read_description
from .text_decoder import TextDecoder
from .training import Trainer
from .training.selection import Selection

__all__ = ["CharBasedSeq2SeqGenerator", "loadCharBasedSeq2SeqGenerator"]

#: ``(input, target)`` pairs, or ``(input, target, features)`` triples.
Pairs = Iterable[Sequence[str]]


class CharBasedSeq2SeqGenerator(TextDecoder, CompactIOMachine):
    """Character-level seq2seq model: learns to answer a text with another text.

    Train it on a conversation (:meth:`train`: each line is answered by the next, as in
    Vinyals & Le, "A Neural Conversational Model") or on pairs such as translations or a
    word and its pronunciation (:meth:`train_pairs`), :meth:`decode` new text, save it to one
    file (:meth:`save_compact_model`) and load it (:func:`loadCharBasedSeq2SeqGenerator`).
    The decoding methods (:meth:`decode`, :meth:`decode_batch`, :meth:`decode_scored`,
    :meth:`decode_nbest`) are :class:`~shorttext_s2s.text_decoder.TextDecoder`'s.
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
        seq2seq: the underlying :class:`~shorttext_s2s.model.Seq2SeqWithKeras` (also
            ``s2sgenerator``, shorttext's name).
        example_input: as given, or set by training.

    Example:

    >>> encoder = SentenceToCharVecEncoder("abcdefghijklmnopqrstuvwxyz !")
    >>> generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=16, maxlen=20)
    >>> history = generator.train_pairs([("hi", "hello!")] * 8, epochs=2, verbose=0)
    >>> isinstance(generator.decode("hi", stochastic=False), str)
    True
    """

    def __init__(self, sent2charvec_encoder: SentenceToCharVecEncoder, latent_dim: int,
                 maxlen: int, *, reverse_input: bool = False,
                 network: str = catalog.DEFAULT_NETWORK,
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
        self.seq2seq = Seq2SeqWithKeras(len(self.encoder), latent_dim, network=network,
                                        **network_options)
        self.latent_dim = self.seq2seq.latent_dim

    s2sgenerator = property(lambda self: self.seq2seq,
                            doc="shorttext's name of :attr:`seq2seq`.")
    network = property(lambda self: self.seq2seq.network,
                       doc="The :class:`~shorttext_s2s.networks.Network` the model is built "
                           "from.")
    network_name = property(lambda self: self.seq2seq.network_name,
                            doc="The name of the network: ``\"lstm\"``, ``\"attention\"``...")
    trained = property(lambda self: self.seq2seq.trained,
                       doc="Whether the model was trained (an epoch at least) or loaded.")
    epochs_trained = property(lambda self: self.seq2seq.epochs_trained,
                              doc="Epochs trained so far (saved in the model file).")

    @property
    def selection(self) -> Optional[Selection]:
        """Which epoch model selection kept and by what figure, or None before training."""
        return self.seq2seq.selection

    def restore_selected(self) -> None:
        """Put the weights of the epoch model selection kept back in the model, after a run
        that stopped mid-epoch: the model then is at that epoch (saving it now saves that
        epoch, and training resumed from the file starts after it)."""
        selection = self.seq2seq.selection
        if selection is not None:
            self.seq2seq.set_weights(selection.weights, epoch=selection.epoch)

    def get_config(self) -> Dict[str, Any]:
        """Return the constructor's hyperparameters (the encoder is described separately)."""
        return {**_without_vecsize(self.seq2seq.get_config()), "maxlen": self.maxlen,
                "reverse_input": self.reverse_input}

    def compile(self, optimizer: Any = None, loss: Any = None, **kwargs: Any) -> None:
        """Build and compile the Keras model; see
        :meth:`~shorttext_s2s.model.Seq2SeqWithKeras.compile`."""
        self.seq2seq.compile(optimizer=optimizer, loss=loss, **kwargs)

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

    def evaluate(self, pairs: Pairs,
                 strategy: Union[str, DecodingStrategy] = catalog.DEFAULT_STRATEGY,
                 batch_size: int = 256, metrics: Optional[Sequence[str]] = None, *,
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
        if not self.trained:
            raise ModelNotTrainedException("evaluate() needs a trained or loaded model.")
        return evaluate_generator(self, pairs, strategy, batch_size, metrics,
                                  target_sep=target_sep)

    def export(self, path: PathLike, format: str = catalog.SAVED_MODEL,
               strategy: Union[str, DecodingStrategy] = catalog.GREEDY, *,
               jit_compile: bool = True) -> str:
        """Write the whole decoder, text in and text out, for runtimes without this library.

        See :func:`shorttext_s2s.export.export_model` (the formats, what the export holds,
        and how to load it). Returns the path written.

        Example:

        >>> generator.export("fra-eng-savedmodel", strategy="beam")  # doctest: +SKIP
        'fra-eng-savedmodel'
        """
        return export_model(self, path, format, strategy, jit_compile=jit_compile)

    # --- persistence: the two hooks of CompactIOMachine -----------------------------------

    def to_model_file(self, final: bool = False) -> ModelFile:
        """Describe the generator: its model's file, with the vocabulary and settings added."""
        contents = self.seq2seq.to_model_file(final=final)
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
        if generator.seq2seq.get_config() != description["model"]:
            raise ModelFileError(path, "the vocabulary or a setting does not match the stored "
                                       "model")
        generator.seq2seq.restore(contents, path)
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
