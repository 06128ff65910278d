"""The base of every decoding strategy: owns the compiled autoregressive loop."""

from __future__ import annotations

from typing import Any, Dict, Hashable, Tuple

from keras import ops

from .. import catalog
from ..vocabulary import PAD_ID, UNK_ID

__all__ = ["DecodingStrategy", "mask_reserved"]


def mask_reserved(logits: Any) -> Any:
    """Set the logits of :data:`PAD_ID` and :data:`UNK_ID` to ``-inf``: never emitted."""
    ids = ops.arange(ops.shape(logits)[-1])
    reserved = ops.logical_or(ids == PAD_ID, ids == UNK_ID)
    return ops.where(reserved, ops.cast(float("-inf"), logits.dtype), logits)


class DecodingStrategy:
    """Chooses each output character; the base class runs the loop around that choice.

    The loop (:meth:`generate`) encodes a batch of inputs, starts every row with the signal
    id and, step by step, feeds the previous id to the network's decoder step (any
    :class:`~shorttext_s2s.networks.Network`), masks the reserved ids
    (padding and unknown can never be emitted) and asks :meth:`get_next_token` for the next
    id. A row stops at its first signal id; the loop stops when all rows have, or after
    ``num_steps`` steps. It is written with ``keras.ops`` only, runs inside one compiled
    function (see :mod:`shorttext_s2s.decoding.engine`), and also returns the log-probability
    of each output under the model (the distribution renormalised over the ids that can be
    emitted) and its length in ids, the end signal included.

    A new strategy subclasses this, overrides :meth:`get_next_token` and :meth:`get_config`
    and has an entry in :data:`shorttext_s2s.catalog.STRATEGIES` (its name, options and
    defaults: :func:`~shorttext_s2s.decoding.get_strategy` and the command line find it
    there); a strategy made on the fly may set ``name`` itself. Strategies that keep
    several hypotheses per input (beam search) override :meth:`generate` instead.

    Attributes:
        name: the name :func:`~shorttext_s2s.decoding.get_strategy` knows it by.
        stochastic: whether outputs depend on the seed.

    Example:

    >>> from keras import ops
    >>> class LowestAllowed(DecodingStrategy):  # always the smallest id that may be emitted
    ...     name = "lowest"
    ...     def get_next_token(self, logits, seed, step):
    ...         return ops.argmax(ops.isfinite(logits), axis=-1)
    >>> LowestAllowed().cache_key()
    ('LowestAllowed',)
    """

    name = catalog.CatalogName("strategies")
    stochastic = False
    #: Whether the engine may carry a batch's last running rows on in a smaller batch:
    #: only for strategies that decode each row on its own with :meth:`token_loop`, whatever
    #: its place in the batch (greedy; not sampling, whose random numbers are drawn per
    #: batch position, nor beam search, whose rows form groups).
    compactable = False

    def get_next_token(self, logits, seed, step):
        """Choose the next id of every row.

        Args:
            logits: ``float32`` ``(rows, vocabulary)``; reserved ids are ``-inf``.
            seed: ``int32`` ``(2,)`` tensor, for strategies that draw random numbers.
            step: the step number (scalar tensor), to draw independent numbers per step.

        Returns:
            ``int32`` ids ``(rows,)``.
        """
        raise NotImplementedError

    def get_config(self) -> Dict[str, Any]:
        """Return the constructor arguments (what :func:`get_strategy` takes as options)."""
        return {}

    def candidates_per_input(self) -> int:
        """How many outputs :meth:`generate` returns per input (decoder rows it runs)."""
        return 1

    def cache_key(self) -> Hashable:
        """What decides the compiled function: the class and the options that shape the loop."""
        return (type(self).__name__,) + tuple(sorted(self.get_config().items()))

    def __repr__(self) -> str:
        options = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({options})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash(self.cache_key())

    def generate(self, network, weights, input_ids, seed, num_steps: int,
                 signal_id: int) -> Tuple[Any, Any, Any]:
        """Decode a batch (traced once per shape inside a compiled function).

        Args:
            network: the :class:`~shorttext_s2s.networks.Network` whose ``encode`` and
                ``step`` run.
            weights: the network's weights (``network.inference_weights()``).
            input_ids: ``int32`` ``(batch, length)``, each row text + signal + padding.
            seed: ``int32`` ``(2,)`` random seed.
            num_steps: most ids to produce per row (``maxlen - 1``).
            signal_id: the start/end signal id.

        Returns:
            ``(ids, log_probs, lengths)`` with one candidate per row:
            ``int32`` ``(batch, 1, num_steps)`` (:data:`PAD_ID` after the end),
            ``float32`` ``(batch, 1)`` and ``int32`` ``(batch, 1)``.
        """
        context, state = network.encode(weights, input_ids, num_steps)
        ids, log_probs, lengths = self.token_loop(network, weights, context, state, seed,
                                                  num_steps, signal_id)
        return ids[:, None, :], log_probs[:, None], lengths[:, None]

    def token_loop(self, network, weights, context, state, seed, num_steps: int,
                   signal_id: int) -> Tuple[Any, Any, Any]:
        """Run the loop from an encoded batch, one output per row.

        Args:
            network, weights: as for :meth:`generate`.
            context, state: what ``network.encode`` returned.
            seed, num_steps, signal_id: as for :meth:`generate`.

        Returns:
            ``(ids, log_probs, lengths)``: ``(rows, num_steps)``, ``(rows,)``, ``(rows,)``.
        """
        loop = self.continue_loop(network, weights, context, seed, num_steps, signal_id,
                                  self.start_loop(state, num_steps, signal_id))
        return loop[3], loop[5], loop[6]

    def start_loop(self, state, num_steps: int, signal_id: int) -> Tuple[Any, ...]:
        """The loop's variables before its first step.

        Returns:
            ``(step, previous ids, network state, output ids, finished, log-probabilities,
            lengths)``: a scalar step, then tensors (or the network's tuple) whose first
            axis is the row, so that rows can be taken out of them (see
            :attr:`compactable`).
        """
        batch = ops.shape(state[0])[0]
        return (ops.convert_to_tensor(0, dtype="int32"),             # step
                ops.full((batch,), signal_id, dtype="int32"),        # previous id
                tuple(state),                                        # the network's state
                ops.zeros((batch, num_steps), dtype="int32"),        # output ids
                ops.zeros((batch,), dtype="bool"),                   # finished
                ops.zeros((batch,), dtype="float32"),                # log-probability
                ops.zeros((batch,), dtype="int32"))                  # length

    def continue_loop(self, network, weights, context, seed, num_steps: int, signal_id: int,
                      loop: Tuple[Any, ...], rows_left: int = 0) -> Tuple[Any, ...]:
        """Run steps from ``loop`` (see :meth:`start_loop`) and return the loop's variables.

        Stops after ``num_steps`` steps in all, when every row has ended, or as soon as at
        most ``rows_left`` rows are still running (the engine then carries on with those
        rows alone, in a smaller batch).
        """
        columns = ops.arange(num_steps, dtype="int32")[None, :]

        def cond(step, token, state, out, finished, log_prob, length):
            running = ops.sum(ops.cast(ops.logical_not(finished), "int32"))
            return ops.logical_and(step < num_steps, running > rows_left)

        def body(step, token, state, out, finished, log_prob, length):
            logits, state = network.step(weights, context, token, state)
            logits = mask_reserved(logits)
            token = ops.cast(self.get_next_token(logits, seed, step), "int32")
            chosen = ops.take_along_axis(ops.log_softmax(logits, axis=-1), token[:, None],
                                         axis=-1)[:, 0]
            token = ops.where(finished, PAD_ID, token)
            out = ops.where(columns == step, token[:, None], out)
            log_prob = ops.where(finished, log_prob, log_prob + chosen)
            length = ops.where(finished, length, length + 1)
            finished = ops.logical_or(finished, token == signal_id)
            return step + 1, token, tuple(state), out, finished, log_prob, length

        return tuple(ops.while_loop(cond, body, tuple(loop)))
