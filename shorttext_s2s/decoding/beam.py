"""Beam search: keep the ``beam_width`` most likely partial outputs at each step."""

from __future__ import annotations

from typing import Any, Dict, Hashable

import keras
from keras import ops

from .. import catalog
from .._checks import check_int, check_number
from ..vocabulary import PAD_ID
from .base import DecodingStrategy, mask_reserved
from .greedy import GreedyStrategy

__all__ = ["BeamSearchStrategy"]

_DEFAULTS = catalog.STRATEGIES[catalog.BEAM].defaults()


class BeamSearchStrategy(DecodingStrategy):
    """Beam search with length normalisation; returns the best output or the n best.

    At each step every kept hypothesis is extended by every character and the
    ``beam_width`` extensions with the highest log-probability are kept; a hypothesis that
    emitted the end signal stays in the beam unchanged. The finished hypotheses are ranked
    by the objective ``log P(output | input) / length ** length_penalty`` (length in ids, the
    end signal included). The greedy output is always among the candidates, so the result
    never scores below greedy decoding on this objective; with ``beam_width=1`` it is the
    greedy output.

    Args:
        beam_width: hypotheses kept per input, a positive integer. Defaults to 5.
        length_penalty: exponent of the length normalisation, a number >= 0: ``0`` ranks by
            total log-probability (favours short outputs), ``1`` (the default) by mean
            log-probability per id.
        num_results: how many outputs :meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.decode_nbest`
            returns at most, between 1 and ``beam_width + 1``. Defaults to 1.

    Raises:
        ValueError: an argument is out of range.

    Example:

    >>> BeamSearchStrategy(beam_width=3).get_config()
    {'beam_width': 3, 'length_penalty': 1.0, 'num_results': 1}
    """

    #: The strategy of the greedy candidate (an exporter may spell it with other operations).
    greedy: DecodingStrategy = GreedyStrategy()

    def __init__(self, beam_width: int = _DEFAULTS["beam_width"],
                 length_penalty: float = _DEFAULTS["length_penalty"],
                 num_results: int = _DEFAULTS["num_results"]) -> None:
        self.beam_width = check_int(beam_width, "beam_width")
        self.length_penalty = check_number(length_penalty, "length_penalty")
        self.num_results = check_int(num_results, "num_results", 1, self.beam_width + 1)

    def get_config(self) -> Dict[str, Any]:
        """Return ``{"beam_width": ..., "length_penalty": ..., "num_results": ...}``."""
        return {"beam_width": self.beam_width, "length_penalty": self.length_penalty,
                "num_results": self.num_results}

    def cache_key(self) -> Hashable:
        # num_results only selects among the outputs: it does not change the compiled loop.
        return (type(self).__name__, self.beam_width, self.length_penalty)

    def candidates_per_input(self) -> int:
        """The beam's hypotheses plus the greedy output."""
        return self.beam_width + 1

    def objective(self, log_probs, lengths):
        """The ranking score: ``log_probs / lengths ** length_penalty`` (NumPy or tensors)."""
        lengths = ops.maximum(ops.cast(lengths, "float32"), 1.0)
        return log_probs / ops.power(lengths, self.length_penalty)

    def generate(self, network, weights, input_ids, seed, num_steps: int, signal_id: int):
        """Decode a batch; return ``beam_width + 1`` candidates per row, best first.

        The candidates are the beam's hypotheses and the greedy output, sorted by
        :meth:`objective`; impossible ones (more beams than possible outputs) have
        log-probability ``-inf``. Shapes as in :meth:`DecodingStrategy.generate` with
        ``beam_width + 1`` candidates.
        """
        context, state = network.encode(weights, input_ids, num_steps)
        greedy = self.greedy.token_loop(network, weights, context, state, seed, num_steps,
                                        signal_id)
        beams = self._beam_loop(network, weights, context, state, num_steps, signal_id)
        ids = ops.concatenate([greedy[0][:, None, :], beams[0]], axis=1)
        log_probs = ops.concatenate([greedy[1][:, None], beams[1]], axis=1)
        lengths = ops.concatenate([greedy[2][:, None], beams[2]], axis=1)
        scores = self.objective(log_probs, lengths)
        # Stable order (greedy first among equals), best first.
        _, order = ops.top_k(scores, self.beam_width + 1)
        return (ops.take_along_axis(ids, order[:, :, None], axis=1),
                ops.take_along_axis(log_probs, order, axis=1),
                ops.take_along_axis(lengths, order, axis=1))

    def _beam_loop(self, network, weights, context, state, num_steps, signal_id):
        width = self.beam_width
        batch = ops.shape(state[0])[0]
        minus_inf = float("-inf")
        # Rows are (input, beam) pairs flattened to batch * width. The context is repeated
        # once: beams are only ever reordered among the same input's rows, which share it.
        context, state = keras.tree.map_structure(
            lambda x: ops.repeat(x, width, axis=0), (tuple(context), tuple(state)))

        def reorder(x, beam):
            # Row (input, b) takes the state of row (input, beam[input, b]).
            rows = ops.reshape(x, (batch, width) + tuple(x.shape[1:]))
            index = ops.reshape(beam, (batch, width) + (1,) * (len(x.shape) - 1))
            return ops.reshape(ops.take_along_axis(rows, index, axis=1), ops.shape(x))

        columns = ops.arange(num_steps, dtype="int32")[None, None, :]
        # Only the first beam is alive at the start, so the beams do not repeat each other.
        first = ops.where(ops.arange(width) == 0, 0.0, minus_inf)
        loop_state = (
            ops.convert_to_tensor(0, dtype="int32"),
            ops.full((batch * width,), signal_id, dtype="int32"),
            state,
            ops.zeros((batch, width, num_steps), dtype="int32"),
            ops.zeros((batch, width), dtype="bool"),
            ops.broadcast_to(ops.cast(first, "float32")[None, :], (batch, width)),
            ops.zeros((batch, width), dtype="int32"),
        )

        def cond(step, token, state, out, finished, log_prob, length):
            return ops.logical_and(step < num_steps,
                                   ops.logical_not(ops.all(finished)))

        def body(step, token, state, out, finished, log_prob, length):
            logits, state = network.step(weights, context, token, state)
            vocab = ops.shape(logits)[-1]
            # A finished hypothesis may only "extend" by padding, at no cost.
            stay = ops.where(ops.arange(vocab) == PAD_ID, 0.0, minus_inf)[None, None, :]
            step_log_probs = ops.log_softmax(mask_reserved(logits), axis=-1)
            step_log_probs = ops.reshape(step_log_probs, (batch, width, vocab))
            step_log_probs = ops.where(finished[:, :, None], stay, step_log_probs)
            candidates = ops.reshape(log_prob[:, :, None] + step_log_probs,
                                     (batch, width * vocab))
            log_prob, index = ops.top_k(candidates, width)
            index = ops.cast(index, "int32")
            beam = ops.floor_divide(index, vocab)
            token = ops.mod(index, vocab)
            finished = ops.take_along_axis(finished, beam, axis=1)
            length = ops.take_along_axis(length, beam, axis=1)
            out = ops.take_along_axis(out, beam[:, :, None], axis=1)
            state = tuple(reorder(x, beam) for x in state)
            token = ops.where(finished, PAD_ID, token)
            out = ops.where(columns == step, token[:, :, None], out)
            length = ops.where(finished, length, length + 1)
            finished = ops.logical_or(finished, token == signal_id)
            return step + 1, ops.reshape(token, (-1,)), state, out, finished, log_prob, length

        _, _, _, out, _, log_prob, length = ops.while_loop(cond, body, loop_state)
        return out, log_prob, length
