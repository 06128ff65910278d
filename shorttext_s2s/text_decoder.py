"""The decoding methods of a model, texts in and texts out: one text, a batch, the n best."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

from . import catalog
from ._checks import check_int
from .decoding import BeamSearchStrategy, DecodingStrategy, decode_texts, get_strategy
from .exceptions import ModelNotTrainedException
from .inputs import input_notes, warn_about

__all__ = ["TextDecoder"]

Features = Optional[Sequence[Optional[str]]]


class TextDecoder:
    """The decoding methods of :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator`.

    A class that mixes it in has ``encoder`` (a
    :class:`~shorttext_s2s.encoder.SentenceToCharVecEncoder`), ``maxlen``,
    ``reverse_input``, ``trained``, ``network`` (the
    :class:`~shorttext_s2s.networks.Network` decoded with) and ``seq2seq`` (its
    :class:`~shorttext_s2s.model.Seq2SeqWithKeras`).
    """

    encoder: Any
    maxlen: int
    reverse_input: bool
    seq2seq: Any

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
            strategy = catalog.SAMPLE if stochastic else catalog.GREEDY
        features = None if features is None else [features]
        found = self._decode([txtseq], get_strategy(strategy), seed, 1, features)
        warn_about([txtseq], self.input_notes([txtseq], features))
        return found[0][0][0]

    def decode_batch(self, texts: Sequence[str],
                     strategy: Union[str, DecodingStrategy] = catalog.DEFAULT_STRATEGY,
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
        found = self._decode(texts, get_strategy(strategy), seed, 1, features)
        warn_about(texts, self.input_notes(texts, features))
        return [each[0][0] for each in found]

    def decode_scored(self, texts: Sequence[str],
                      strategy: Union[str, DecodingStrategy] = catalog.DEFAULT_STRATEGY,
                      seed: Optional[int] = None, *, num_results: int = 1,
                      features: Features = None, warn: bool = True
                      ) -> List[List[Tuple[str, float]]]:
        """The n best answers of each text with their log-probabilities, decoded together.

        Args:
            texts: the input texts.
            strategy, seed, features: as for :meth:`decode_batch`.
            num_results: most answers per text: 1, or up to ``beam_width + 1`` for beam
                search (whose own ``num_results`` it overrides). Defaults to 1.
            warn: warn about the texts not read as given (:meth:`input_notes`), as
                :meth:`decode_batch` does. Defaults to True.

        Returns:
            Per text, up to ``num_results`` distinct ``(text, log_probability)`` pairs, best
            first (the log-probability of the text and the end signal, renormalised without
            the reserved ids).

        Raises:
            TypeError, ValueError, ModelNotTrainedException: as :meth:`decode_batch`.

        Example:

        >>> generator.decode_scored(["Hi."], "beam", num_results=2)  # doctest: +SKIP
        [[('Salut.', -0.21), ('Salut !', -1.93)]]
        """
        num_results = check_int(num_results, "num_results")
        found = self._decode(texts, get_strategy(strategy), seed, num_results, features)
        if warn:
            warn_about(texts, self.input_notes(texts, features))
        return found

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
        found = self._decode([txtseq], strategy, None, num_results, features)[0]
        warn_about([txtseq], self.input_notes([txtseq], features))
        return found

    def input_notes(self, texts: Sequence[str],
                    features: Features = None) -> List[Optional[str]]:
        """What the model will not read as given in each text, or None where it reads it all
        (:func:`shorttext_s2s.inputs.input_notes`: empty, unseen units or tags, cut).

        Example:

        >>> generator.input_notes(["Hi.", "", "Hi\u2603"])  # doctest: +SKIP
        [None, 'empty', "characters the model never saw: '\u2603'"]
        """
        return input_notes(self.encoder, self.maxlen, texts, features)

    def _decode(self, texts: Sequence[str], strategy: DecodingStrategy, seed: Optional[int],
                num_results: int, features: Features) -> List[List[Tuple[str, float]]]:
        if not self.trained:
            raise ModelNotTrainedException("decoding needs a trained or loaded model.")
        if isinstance(features, str):
            raise TypeError("`features` must give each text's tags (a list of str or None), "
                            "got a single str; use decode(text, features=...) for one text.")
        # Under JAX, fit() keeps the weights being trained in its own state and writes them
        # to the layers at epoch ends: a callback decoding mid-epoch needs them written now.
        sync = getattr(self.seq2seq.model, "jax_state_sync", None)
        if sync is not None:
            sync()
        return decode_texts(self.network, self.encoder, self.maxlen, texts, strategy,
                            seed=seed, num_results=num_results,
                            reverse_input=self.reverse_input, features=features)
