"""Scores of decoded texts against references: exact match, character error rate, chrF, BLEU.

Exact match and character error rate need nothing beyond the library. chrF and BLEU come from
`sacrebleu <https://github.com/mjpost/sacrebleu>`_, the reference implementation, installed
with the ``metrics`` extra: ``pip install "shorttext-s2s[metrics]"``.
"""

from __future__ import annotations

from typing import Any, Dict, Sequence

from .exceptions import InputDataError
from .extras import import_extra

__all__ = ["exact_match", "character_error_rate", "edit_distance", "chrf", "bleu",
           "score_texts", "METRICS"]

#: The names :func:`score_texts` understands.
METRICS = ("exact_match", "cer", "chrf", "bleu")

def edit_distance(first: str, second: str) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions of characters.

    >>> edit_distance("chat", "chats"), edit_distance("chien", "chat")
    (1, 3)
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


def exact_match(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Share (0 to 1) of hypotheses equal to their reference.

    >>> exact_match(["Va !", "Cours !"], ["Va !", "Courez !"])
    0.5
    """
    _check(hypotheses, references)
    return sum(h == r for h, r in zip(hypotheses, references)) / len(references)


def character_error_rate(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Character error rate: total edit distance over total reference length (0 is perfect).

    It can exceed 1 when the hypotheses are much longer than the references.

    >>> character_error_rate(["chats"], ["chat"])
    0.25
    """
    _check(hypotheses, references)
    distance = sum(edit_distance(h, r) for h, r in zip(hypotheses, references))
    return distance / max(1, sum(len(r) for r in references))


def chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (character n-gram F-score, 0 to 100) computed by sacrebleu.

    Raises:
        MissingExtraError: sacrebleu is not installed (the message says how to install it).
    """
    return _sacrebleu_score("corpus_chrf", "chrF", "chrf", hypotheses, references)


def bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (0 to 100) computed by sacrebleu with its default tokenizer.

    Raises:
        MissingExtraError: sacrebleu is not installed (the message says how to install it).
    """
    return _sacrebleu_score("corpus_bleu", "BLEU", "bleu", hypotheses, references)


def score_texts(hypotheses: Sequence[str], references: Sequence[str],
                metrics: Sequence[str] = METRICS) -> Dict[str, float]:
    """Score hypotheses against references.

    Args:
        hypotheses: the decoded texts.
        references: the expected texts, one per hypothesis.
        metrics: any of ``"exact_match"`` (share of exact outputs, 0 to 1), ``"cer"``
            (character error rate), ``"chrf"`` and ``"bleu"`` (0 to 100, need sacrebleu).

    Returns:
        ``{"n": number of pairs, metric: score, ...}``.

    Raises:
        ValueError: an unknown metric name.
        InputDataError: no texts, or different numbers of hypotheses and references.
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
    _check(hypotheses, references)
    functions = {"exact_match": exact_match, "cer": character_error_rate, "chrf": chrf,
                 "bleu": bleu}
    scores: Dict[str, Any] = {"n": len(references)}
    for name in metrics:
        scores[name] = functions[name](hypotheses, references)
    return scores


def _check(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise InputDataError(f"got {len(hypotheses)} hypotheses for {len(references)} "
                             f"references; they must pair up one to one")
    if not references:
        raise InputDataError("nothing to score: no references given")


def _sacrebleu_score(function: str, name: str, key: str, hypotheses: Sequence[str],
                     references: Sequence[str]) -> float:
    _check(hypotheses, references)
    sacrebleu = import_extra("sacrebleu", "metrics",
                             f"{name} (leave {key!r} out of `metrics` to do without it)")
    return float(getattr(sacrebleu, function)(list(hypotheses), [list(references)]).score)
