"""Scores of decoded texts against references: exact match (word accuracy), character and
symbol error rates, chrF, BLEU.

Each input may have one reference or several (a word with two pronunciations, a sentence with
two translations): an output is right when it equals any of them, and its error rate is its
distance to the closest. Exact match and the error rates need nothing beyond the library.
chrF and BLEU come from `sacrebleu <https://github.com/mjpost/sacrebleu>`_, the reference
implementation, installed with the ``metrics`` extra: ``pip install
"shorttext-s2s[metrics]"``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import catalog
from ._checks import check_int
from .data import check_pairs
from .exceptions import InputDataError
from .extras import import_extra

__all__ = ["exact_match", "character_error_rate", "symbol_error_rate", "edit_distance", "chrf",
           "bleu", "score_texts", "evaluate_generator", "METRICS", "References"]

#: The names :func:`score_texts` understands (:data:`shorttext_s2s.catalog.METRICS`).
METRICS = tuple(catalog.METRICS)

#: The references of the inputs: per input, one text or a non-empty sequence of texts.
References = Sequence[Union[str, Sequence[str]]]


def edit_distance(first: Sequence[Any], second: Sequence[Any]) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions of symbols
    (the characters of two strings, or the items of two lists).

    >>> edit_distance("chat", "chats"), edit_distance("chien", "chat")
    (1, 3)
    >>> edit_distance(["K", "AE", "T"], ["K", "AA", "T", "S"])
    2
    """
    if len(first) < len(second):
        first, second = second, first
    previous = list(range(len(second) + 1))
    for i, char in enumerate(first, start=1):
        current = [i]
        for j, other in enumerate(second, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char != other)))
        previous = current
    return previous[-1]


def exact_match(hypotheses: Sequence[str], references: References) -> float:
    """Share (0 to 1) of hypotheses equal to one of their references: the word accuracy of
    the transduction tasks (1 minus their word error rate).

    >>> exact_match(["Va !", "Cours !"], ["Va !", "Courez !"])
    0.5
    >>> exact_match(["T AH M EY T OW"], [["T AH M AA T OW", "T AH M EY T OW"]])
    1.0
    """
    sets = _reference_sets(hypotheses, references)
    return sum(h in refs for h, refs in zip(hypotheses, sets)) / len(sets)


def symbol_error_rate(hypotheses: Sequence[str], references: References,
                      separator: Optional[str] = None) -> float:
    """Symbol error rate: total edit distance to the closest reference over the total length
    of those references, in symbols (0 is perfect; it can exceed 1).

    Args:
        hypotheses: the decoded texts.
        references: per hypothesis, its reference or references.
        separator: what separates the symbols of a text (``" "`` for phonemes written
            ``K AE T``: the phoneme error rate); None, the default, makes every character a
            symbol (the character error rate).

    >>> symbol_error_rate(["K AE T S"], [["K AE T", "K AA T"]], separator=" ")
    0.3333333333333333
    """
    sets = _reference_sets(hypotheses, references)

    def units(text: str) -> Sequence[str]:
        return text if separator is None else [unit for unit in text.split(separator) if unit]

    distance = length = 0
    for hypothesis, refs in zip(hypotheses, sets):
        symbols = units(hypothesis)
        # The closest reference; of equally close ones, the longest (the lowest rate).
        closest, longest = min((edit_distance(symbols, ref_units), -len(ref_units))
                               for ref_units in map(units, refs))
        distance, length = distance + closest, length - longest
    return distance / max(1, length)


def character_error_rate(hypotheses: Sequence[str], references: References) -> float:
    """Character error rate: :func:`symbol_error_rate` with every character a symbol.

    >>> character_error_rate(["chats"], ["chat"])
    0.25
    """
    return symbol_error_rate(hypotheses, references)


def chrf(hypotheses: Sequence[str], references: References) -> float:
    """Corpus chrF (character n-gram F-score, 0 to 100) computed by sacrebleu.

    Raises:
        MissingExtraError: sacrebleu is not installed (the message says how to install it).
    """
    return _sacrebleu_score("corpus_chrf", "chrF", "chrf", hypotheses, references)


def bleu(hypotheses: Sequence[str], references: References) -> float:
    """Corpus BLEU (0 to 100) computed by sacrebleu with its default tokenizer.

    Raises:
        MissingExtraError: sacrebleu is not installed (the message says how to install it).
    """
    return _sacrebleu_score("corpus_bleu", "BLEU", "bleu", hypotheses, references)


def score_texts(hypotheses: Sequence[str], references: References,
                metrics: Sequence[str] = METRICS, separator: Optional[str] = None
                ) -> Dict[str, float]:
    """Score hypotheses against references.

    Args:
        hypotheses: the decoded texts.
        references: per hypothesis, the expected text, or a non-empty sequence of them.
        metrics: any of ``"exact_match"`` (share of exact outputs, 0 to 1: the word
            accuracy), ``"cer"`` (character error rate), ``"ser"`` (symbol error rate, the
            symbols separated by ``separator``), ``"chrf"`` and ``"bleu"`` (0 to 100, need
            sacrebleu).
        separator: what separates the symbols of a text for ``"ser"`` (``" "`` for
            phonemes); None makes it the character error rate.

    Returns:
        ``{"n": number of hypotheses, metric: score, ...}``.

    Raises:
        ValueError: an unknown metric name.
        InputDataError: no texts, different numbers of hypotheses and references, or an
            input without references.
        MissingExtraError: chrF or BLEU asked for without sacrebleu.

    Example:

    >>> score_texts(["Va !"], ["Va !"], metrics=("exact_match", "cer"))
    {'n': 1, 'exact_match': 1.0, 'cer': 0.0}
    """
    if isinstance(metrics, str):
        metrics = (metrics,)
    unknown = [name for name in metrics if name not in METRICS]
    if unknown:
        raise ValueError(f"Received unknown metric(s) {unknown} in argument `metrics`, "
                         f"expected some of {list(METRICS)}.")
    _reference_sets(hypotheses, references)
    functions = {"exact_match": exact_match, "cer": character_error_rate, "chrf": chrf,
                 "bleu": bleu,
                 "ser": lambda h, r: symbol_error_rate(h, r, separator)}
    scores: Dict[str, Any] = {"n": len(references)}
    for name in metrics:
        scores[name] = functions[name](hypotheses, references)
    return scores


def _reference_sets(hypotheses: Sequence[str], references: References) -> List[List[str]]:
    """Each hypothesis's references as a list, checked."""
    if len(hypotheses) != len(references):
        raise InputDataError(f"got {len(hypotheses)} hypotheses for {len(references)} "
                             f"references; they must pair up one to one")
    if not references:
        raise InputDataError("nothing to score: no references given")
    sets = []
    for index, refs in enumerate(references):
        refs = [refs] if isinstance(refs, str) else \
            list(refs) if isinstance(refs, (list, tuple)) else None
        if not refs or not all(isinstance(ref, str) for ref in refs):
            raise InputDataError(f"references[{index}] must be a text or a non-empty list of "
                                 f"texts, got {refs!r:.80}")
        sets.append(refs)
    return sets


def _sacrebleu_score(function: str, name: str, key: str, hypotheses: Sequence[str],
                     references: References) -> float:
    sets = _reference_sets(hypotheses, references)
    sacrebleu = import_extra("sacrebleu", "metrics",
                             f"{name} (leave {key!r} out of `metrics` to do without it)")
    # sacrebleu takes one stream per reference position; None where an input has fewer.
    width = max(len(refs) for refs in sets)
    streams = [[refs[i] if i < len(refs) else None for refs in sets] for i in range(width)]
    return float(getattr(sacrebleu, function)(list(hypotheses), streams).score)


def evaluate_generator(generator: Any, pairs: Sequence[Sequence[str]], strategy: Any = None,
                       batch_size: int = 256, metrics: Optional[Sequence[str]] = None, *,
                       target_sep: Optional[str] = None) -> Dict[str, float]:
    """Decode held-out pairs with ``generator`` and score its outputs: what
    :meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.evaluate` does, which documents the
    arguments (``strategy`` None is greedy decoding).

    Pairs with the same input (and features) are one input with several references.
    """
    pairs, batch_size = check_pairs(pairs), check_int(batch_size, "batch_size")
    if target_sep is None:
        target_sep = generator.encoder.target_sep
    if metrics is None:
        metrics = ("exact_match", "cer") + (("ser",) if target_sep is not None else ()) \
            + ("chrf", "bleu")
    references: Dict[Tuple[str, Optional[str]], List[str]] = {}
    for pair in pairs:
        key = (pair[0], pair[2] if len(pair) > 2 else None)
        references.setdefault(key, []).append(pair[1])
    inputs = list(references)
    outputs: List[str] = []
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start:start + batch_size]
        outputs += generator.decode_batch([text for text, _ in chunk],
                                          strategy or catalog.DEFAULT_STRATEGY,
                                          features=[tags for _, tags in chunk])
    return score_texts(outputs, [references[key] for key in inputs], metrics=metrics,
                       separator=target_sep)
