"""Character-level sequence-to-sequence generation: the user-facing model."""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import keras
import numpy as np

from .data import check_pairs, conversation_pairs, iter_lines
from .decoding import BeamSearchStrategy, DecodingStrategy, decode_texts, get_strategy
from .encoder import SentenceToCharVecEncoder
from .exceptions import ModelFileError, ModelNotTrainedException, PathLike
from .fileformat import MAX_SEQUENCE_LENGTH, read_model_file, write_model_file
from .model import Seq2SeqWithKeras, _prefix_path, stored_model_config
from .training import (CompactCheckpoint, PairBatches, as_fit_input, distribution_scope,
                       early_stopping_callback, replica_count)

__all__ = ["CharBasedSeq2SeqGenerator", "loadCharBasedSeq2SeqGenerator"]

Pairs = Iterable[Tuple[str, str]]

logger = logging.getLogger(__name__)


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
        reverse_input: feed each input to the encoder backwards (training and decoding
            alike), so that its first characters are the last the encoder reads, right
            before the decoder starts (Sutskever et al., 2014). On the fra.txt benchmark it
            raised held-out chrF by about 1.3 points. Defaults to False, the model of
            shorttext and the Keras example; it is saved with the model.
        bidirectional: encode each input with two LSTMs of ``latent_dim // 2`` units, one
            reading it forwards and one backwards (see :class:`Seq2SeqWithKeras`); trains
            faster on a CPU. Defaults to False, the model of shorttext and the Keras example;
            it is saved with the model.

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
                 maxlen: int, *, reverse_input: bool = False,
                 bidirectional: bool = False) -> None:
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
        if not isinstance(reverse_input, (bool, np.bool_)):
            raise TypeError(f"`reverse_input` must be a bool, got {reverse_input!r}.")
        self.reverse_input = bool(reverse_input)
        self.s2sgenerator = Seq2SeqWithKeras(len(self.encoder), self.latent_dim,
                                             bidirectional=bidirectional)
        #: Epochs trained so far; saved in the model file so that training can resume.
        self.epochs_trained = 0

    @property
    def trained(self) -> bool:
        """Whether the model was trained or loaded, i.e. can decode and be saved."""
        return self.s2sgenerator.trained

    def get_config(self) -> dict:
        """Return the constructor's hyperparameters (the encoder is described separately)."""
        return {"latent_dim": self.latent_dim, "maxlen": self.maxlen,
                "reverse_input": self.reverse_input,
                "bidirectional": self.s2sgenerator.bidirectional}

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
        """Encode ``(input, target)`` pairs as ids, cut to this model's ``maxlen``.

        The same as :meth:`SentenceToCharVecEncoder.encode_pairs` with this model's
        ``maxlen`` and ``reverse_input``.

        Returns:
            Three ``int32`` arrays of shape ``(len(pairs), maxlen)``: encoder input, decoder
            input and decoder output.

        Raises:
            InputDataError: no pairs, or an item that is not a pair of strings.
        """
        return self.encoder.encode_pairs(pairs, self.maxlen, reverse_input=self.reverse_input)

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
            txtseq: a text (split into lines) or a list of lines. Blank lines are skipped and
                counted in the log.
            batch_size: samples per gradient step. Defaults to 64.
            epochs: index of the last epoch to run (as in Keras). Defaults to 100.
            optimizer: used when the model is not compiled yet. Defaults to ``"rmsprop"``.
            loss: used when the model is not compiled yet.
            **kwargs: the keyword options of :meth:`train_pairs` (``validation_data``,
                ``early_stopping``, ``checkpoint``...).

        Returns:
            The Keras ``History``.

        Raises:
            InputDataError: fewer than two non-blank lines.
        """
        return self.train_pairs(self._conversation(txtseq), batch_size=batch_size,
                                epochs=epochs, optimizer=optimizer, loss=loss, **kwargs)

    def train_pairs(self, pairs: Pairs, batch_size: int = 64, epochs: int = 100,
                    optimizer: Any = "rmsprop", loss: Any = "categorical_crossentropy", *,
                    validation_data: Optional[Pairs] = None, validation_split: float = 0.0,
                    callbacks: Optional[Sequence[keras.callbacks.Callback]] = None,
                    early_stopping: Optional[int] = None, checkpoint: Optional[PathLike] = None,
                    resume: bool = False, initial_epoch: int = 0, verbose: Any = "auto",
                    distribution: Any = None, seed: Optional[int] = None,
                    length_step: Optional[int] = None,
                    decoder_noise: float = 0.0) -> keras.callbacks.History:
        """Train on explicit ``(input, target)`` pairs, e.g. translations.

        Pairs are kept as integer ids and expanded to one-hot vectors one batch at a time;
        each batch holds pairs of similar length and is padded only to its longest one.
        Padding is masked: it changes neither the loss nor the ``char_accuracy`` metric.

        Args:
            pairs: ``(input text, target text)`` tuples.
            batch_size: pairs per gradient step. Defaults to 64.
            epochs: index of the last epoch to run, as in Keras: with ``initial_epoch=10`` and
                ``epochs=15``, five epochs run. Defaults to 100.
            optimizer: used when the model is not compiled yet. Defaults to ``"rmsprop"``.
            loss: used when the model is not compiled yet.
            validation_data: held-out ``(input, target)`` pairs; their loss and accuracy are
                reported each epoch as ``val_loss`` and ``val_char_accuracy``.
            validation_split: fraction (0 to 1) of ``pairs``, taken from the end as Keras
                does, held out for validation instead. Ignored when ``validation_data`` is
                given. Defaults to 0.
            callbacks: further Keras callbacks.
            early_stopping: a patience in epochs: stop when ``val_loss`` (``loss`` without
                validation data) has not improved for that many epochs, and restore the
                weights of the best epoch when training ends. Defaults to None (off).
            checkpoint: a file written at the end of every epoch in the library's format
                (atomically, with the optimizer state and the number of epochs trained).
            resume: if true and ``checkpoint`` exists, load it into this generator first and
                continue from the epoch it reached (``initial_epoch`` is then ignored).
            initial_epoch: epoch to start at, for resuming by hand:
                ``train_pairs(..., initial_epoch=loaded.epochs_trained)``.
            verbose: Keras progress output: ``"auto"`` (progress bars), 0 (silent), 1 or 2.
            distribution: train across devices: a ``tf.distribute`` strategy on TensorFlow
                (``MirroredStrategy``, ``MultiWorkerMirroredStrategy``) or a
                ``keras.distribution.DataParallel`` on JAX. ``batch_size`` is the global
                batch, split across the devices. Defaults to None (one device).
            seed: seed of the batch shuffling, for reproducible runs. Defaults to None.
            length_step: batch lengths are rounded up to a multiple of this, trading a little
                padding for fewer compiled shapes. Defaults to 1 on TensorFlow (its training
                step takes any length without recompiling) and 4 on other backends (JAX
                compiles once per shape).
            decoder_noise: share of the decoder's teacher-forced input characters replaced by
                the unknown id in each training batch (the targets, the start signal and the
                validation pairs are left alone), a regulariser for small data sets (see
                the training guide for what it did on the fra.txt benchmark). Defaults to 0
                (off).

        Returns:
            The Keras ``History`` (``history.history["loss"]``, ...).

        Raises:
            InputDataError: no pairs, or an item that is not a pair of strings.
            ValueError: an invalid option (the message names it).
        """
        if resume and checkpoint is not None and os.path.exists(checkpoint):
            self.load_compact_model(checkpoint)
            initial_epoch = self.epochs_trained
            logger.info("resuming from %s at epoch %d", os.fspath(checkpoint), initial_epoch)
        pairs = check_pairs(pairs)
        if validation_data is not None:
            validation_pairs = check_pairs(validation_data, "validation_data")
        elif validation_split:
            if not 0.0 < float(validation_split) < 1.0:
                raise ValueError(f"Received an invalid value for argument `validation_split`, "
                                 f"expected a number between 0 and 1, got {validation_split!r}.")
            held = int(len(pairs) * float(validation_split))
            if held < 1 or held >= len(pairs):
                raise ValueError(f"`validation_split={validation_split}` of {len(pairs)} "
                                 f"pairs leaves no training or no validation pairs.")
            pairs, validation_pairs = pairs[:-held], pairs[-held:]
            logger.info("validation_split: %d pair(s) for training, %d held out",
                        len(pairs), len(validation_pairs))
        else:
            validation_pairs = None

        if length_step is None:
            length_step = 1 if keras.backend.backend() == "tensorflow" else 4
        replicas = replica_count(distribution)
        with distribution_scope(distribution):
            if distribution is not None:
                self._build_in_scope(optimizer, loss)
            elif not self.s2sgenerator.compiled:
                self.compile(optimizer=optimizer, loss=loss)
            batches = self._batches(pairs, batch_size, True, seed, length_step, replicas,
                                    decoder_noise)
            batches.set_epoch(initial_epoch)
            validation = (None if validation_pairs is None else
                          self._batches(validation_pairs, batch_size, False, None, length_step,
                                        replicas))
            all_callbacks = list(callbacks or [])
            if checkpoint is not None:
                all_callbacks.append(CompactCheckpoint(self, checkpoint))
            if early_stopping is not None:
                monitor = "val_loss" if validation is not None else "loss"
                all_callbacks.append(early_stopping_callback(early_stopping, monitor))
            history = self.s2sgenerator.model.fit(
                as_fit_input(batches), epochs=epochs, initial_epoch=initial_epoch,
                validation_data=None if validation is None else as_fit_input(validation),
                callbacks=all_callbacks, verbose=verbose, shuffle=False)
        self.s2sgenerator.trained = True
        if history.epoch:
            self.epochs_trained = history.epoch[-1] + 1
        return history

    def evaluate(self, pairs: Pairs, strategy: Union[str, DecodingStrategy] = "greedy",
                 batch_size: int = 256,
                 metrics: Sequence[str] = ("exact_match", "cer", "chrf", "bleu")
                 ) -> Dict[str, float]:
        """Decode held-out inputs and score the outputs against their targets.

        Args:
            pairs: ``(input, expected output)`` tuples the model was not trained on.
            strategy: decoding strategy passed to :meth:`decode_batch`. Defaults to greedy.
            batch_size: inputs decoded at once. Defaults to 256.
            metrics: which scores to compute; see
                :func:`shorttext_s2s.evaluation.score_texts`. ``chrf`` and ``bleu`` need the
                ``metrics`` extra (sacrebleu).

        Returns:
            dict: ``n`` (the number of pairs), ``exact_match`` (share of outputs equal to
            the target), ``cer`` (character error rate), ``chrf`` and ``bleu`` (0 to 100).

        Raises:
            ModelNotTrainedException: the model was neither trained nor loaded.
            InputDataError: no pairs, or an item that is not a pair of strings.
            MissingExtraError: chrF or BLEU asked for without sacrebleu installed.

        Example (with a trained ``generator``)::

            scores = generator.evaluate(read_pairs("fra.txt")[10000:11000])
            print(f"exact {scores['exact_match']:.1%}, chrF {scores['chrf']:.1f}")
        """
        from .evaluation import score_texts

        if not self.trained:
            raise ModelNotTrainedException("evaluate() needs a trained or loaded model.")
        pairs = check_pairs(pairs)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"Received an invalid value for argument `batch_size`, expected a "
                             f"positive integer, got {batch_size!r}.")
        sources = [source for source, _ in pairs]
        outputs: List[str] = []
        for start in range(0, len(sources), batch_size):
            outputs.extend(self.decode_batch(sources[start:start + batch_size],
                                             strategy=strategy))
        return score_texts(outputs, [target for _, target in pairs], metrics=metrics)

    def _batches(self, pairs: List[Tuple[str, str]], batch_size: int, shuffle: bool,
                 seed: Optional[int], length_step: int, replicas: int,
                 decoder_noise: float = 0.0) -> PairBatches:
        encoder_ids, decoder_ids, target_ids = self.encode_pairs(pairs)
        return PairBatches(encoder_ids, decoder_ids, target_ids, len(self.encoder),
                           batch_size=batch_size, shuffle=shuffle, seed=seed,
                           length_step=length_step, multiple_of=replicas,
                           decoder_noise=decoder_noise)

    def _build_in_scope(self, optimizer: Any, loss: Any) -> None:
        # Variables must be created under the distribution's scope to be mirrored: rebuild the
        # model there, carrying over trained weights (the optimizer starts afresh).
        s2s = self.s2sgenerator
        weights = s2s.model.get_weights() if (s2s.model is not None and s2s.trained) else None
        if s2s.compiled and s2s.model.optimizer is not None:
            optimizer, loss = s2s.model.optimizer, s2s.model.loss
        if isinstance(optimizer, keras.optimizers.Optimizer):
            # An optimizer creates variables when constructed: make a copy under the scope.
            optimizer = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
        s2s.prepare_model()
        if weights is not None:
            s2s.model.set_weights(weights)
        s2s.compile(optimizer=optimizer, loss=loss)

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
                            strategy, seed=seed, num_results=num_results,
                            reverse_input=self.reverse_input)

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
        path = _prefix_path(prefix)
        self.save_compact_model(path, final=final)
        return path

    def loadmodel(self, prefix: PathLike) -> None:
        """Load what :meth:`savemodel` wrote with the same ``prefix`` into this object."""
        self.load_compact_model(_prefix_path(prefix))

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
        contents.config["training"] = {"epochs_trained": int(self.epochs_trained)}
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
    path = os.fspath(path) if compact else _prefix_path(path)
    contents = read_model_file(path, kind=CharBasedSeq2SeqGenerator.__name__)
    try:
        encoder = SentenceToCharVecEncoder.from_config(contents.config["encoder"])
        generator = CharBasedSeq2SeqGenerator(encoder, **contents.config["generator"])
    except KeyError as exc:
        raise ModelFileError(path, f"invalid model description (no {exc} entry)") from None
    except (TypeError, ValueError) as exc:
        raise ModelFileError(path, f"invalid model description ({exc})") from None
    if generator.maxlen > MAX_SEQUENCE_LENGTH:
        raise ModelFileError(path, f"maxlen {generator.maxlen} is above the limit of "
                                   f"{MAX_SEQUENCE_LENGTH} this library loads")
    if generator.s2sgenerator.get_config() != stored_model_config(contents):
        raise ModelFileError(path, "the vocabulary or a setting does not match the stored "
                                   "model")
    generator.s2sgenerator.restore_model_file(contents, path)
    generator.epochs_trained = int(contents.config.get("training", {}).get("epochs_trained", 0))
    return generator
