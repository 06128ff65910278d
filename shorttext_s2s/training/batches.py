"""Length-bucketed batches of ids, expanded to one-hot vectors one batch at a time.

Sentences are kept as integer ids, ``(pairs, maxlen)`` ``int32`` arrays, so memory grows with
pairs × length and not with pairs × length × vocabulary. :class:`PairBatches` expands one batch
at a time into the one-hot vectors the model reads, and pads each batch only to its own
longest sentence: batches are formed from sentences of similar length, so little of each step
is spent on padding (which the model masks anyway).
"""

from __future__ import annotations

import logging
import math
from typing import Any, Dict, Iterator, List, Optional, Tuple

import keras
import numpy as np

from .._checks import check_bool, check_int, check_number, check_optional_int
from ..vocabulary import PAD_ID, UNK_ID, onehot

__all__ = ["PairBatches", "fit_arguments", "POOL_BATCHES"]

logger = logging.getLogger(__name__)

#: Batches are drawn from pools of this many batches, sorted by length inside each pool: wide
#: enough to find sentences of similar length (on the benchmark's 7,200 fra.txt pairs, 34.0
#: padded steps a pair against 35.4 with pools of 32 batches and 32.9 real ones), narrow
#: enough on large data sets to keep the order random. Pairs of equal lengths are grouped
#: at random, and the batches are shuffled, every epoch.
POOL_BATCHES = 128


class PairBatches(keras.utils.PyDataset):
    """Teacher-forcing batches of one-hot vectors, made on the fly from id arrays.

    Each epoch the pairs are shuffled, cut into pools of ``POOL_BATCHES`` batches, sorted by
    length within a pool, cut into batches, and the batches are shuffled. A batch is padded to
    its own longest sentence, rounded up to a multiple of ``length_step`` (so the backend
    compiles a few shapes rather than one per length). Padding rows are all zero, which the
    model's ``Masking`` layers skip and the loss ignores.

    Args:
        encoder_ids: ``(pairs, maxlen)`` ids of the encoder input, padded with ``PAD_ID`` on
            the right.
        decoder_ids: ``(pairs, maxlen)`` ids of the decoder input.
        target_ids: ``(pairs, maxlen)`` ids of the decoder output (``decoder_ids`` shifted
            by one step).
        vocab_size: length of the one-hot vectors.
        batch_size: pairs per batch. Defaults to 64.
        shuffle: reshuffle every epoch (training) or keep one fixed, length-sorted order
            (validation). Defaults to True.
        seed: seed of the shuffling; epoch ``e`` uses ``seed + e``, so a resumed run sees the
            same orders as an uninterrupted one. Defaults to None: drawn from NumPy's global
            generator, so that ``keras.utils.set_random_seed`` makes a run repeatable.
        length_step: padded lengths are rounded up to a multiple of this. Defaults to 4.
        multiple_of: every batch size is made a multiple of this (the number of devices of a
            data-parallel run): the last batch is topped up with repeated pairs, which is
            logged. Defaults to 1.
        shard: ``(index, count)``: this process's share of every batch in a run of ``count``
            processes (:mod:`shorttext_s2s.training.distributed`). Every process forms the
            same batches (give them the same ``seed``) and yields rows ``index / count`` to
            ``(index + 1) / count`` of each, padded to the whole batch's length, so that the
            backend can assemble the slices into the batch. ``multiple_of`` must be a multiple
            of ``count``. Defaults to ``(0, 1)``, the whole batch.
        feature_dropout: each encoder id from ``first_feature_id`` up (a feature tag) is
            replaced by ``UNK_ID`` with this probability, drawn anew for every batch of every
            epoch (from ``seed``, the epoch and the batch: a resumed run, and every process
            of a distributed one, draws the same). Defaults to 0: ids as given.
        first_feature_id: the id of the first tag
            (:attr:`~shorttext_s2s.encoder.SentenceToCharVecEncoder.first_feature_id`);
            needed with ``feature_dropout``.
        **kwargs: passed on to ``keras.utils.PyDataset`` (``workers``...).

    Example:

    >>> ids = np.array([[3, 2, 0, 0], [3, 4, 4, 2]], dtype=np.int32)
    >>> batches = PairBatches(ids, ids, ids, vocab_size=5, batch_size=1, shuffle=False)
    >>> (source, _), target = batches[0]
    >>> source.shape, target.shape  # padded to this batch's own length, rounded up to 4
    ((1, 4, 5), (1, 4, 5))
    """

    def __init__(self, encoder_ids: np.ndarray, decoder_ids: np.ndarray,
                 target_ids: np.ndarray, vocab_size: int, batch_size: int = 64,
                 shuffle: bool = True, seed: Optional[int] = None, length_step: int = 4,
                 multiple_of: int = 1, shard: Tuple[int, int] = (0, 1),
                 feature_dropout: float = 0.0, first_feature_id: Optional[int] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        arrays = [np.asarray(a) for a in (encoder_ids, decoder_ids, target_ids)]
        if any(a.ndim != 2 for a in arrays) or len({a.shape[0] for a in arrays}) != 1:
            raise ValueError(f"Received invalid id arrays, expected three 2-D arrays with the "
                             f"same number of rows, got shapes {[a.shape for a in arrays]}.")
        if arrays[1].shape != arrays[2].shape:
            raise ValueError(f"`decoder_ids` and `target_ids` must have the same shape, got "
                             f"{arrays[1].shape} and {arrays[2].shape}.")
        if arrays[0].shape[0] == 0:
            raise ValueError("Received no pairs to make batches of.")
        self.encoder_ids, self.decoder_ids, self.target_ids = arrays
        self.vocab_size = check_int(vocab_size, "vocab_size")
        self.multiple_of = check_int(multiple_of, "multiple_of")
        self.batch_size = math.ceil(check_int(batch_size, "batch_size") / self.multiple_of) \
            * self.multiple_of
        self.shuffle = check_bool(shuffle, "shuffle")
        self.seed = check_optional_int(seed, "seed", minimum=0)
        self.length_step = check_int(length_step, "length_step")
        index, count = shard
        count = check_int(count, "shard count")
        if not (isinstance(index, int) and 0 <= index < count) or self.multiple_of % count:
            raise ValueError(f"Received an invalid value for argument `shard`, expected "
                             f"(index, count) with 0 <= index < count and count dividing "
                             f"multiple_of={self.multiple_of}, got {shard!r}.")
        self.shard = (index, count)
        self.feature_dropout = check_number(feature_dropout, "feature_dropout", below=1.0)
        self.first_feature_id = check_optional_int(first_feature_id, "first_feature_id",
                                                   minimum=UNK_ID + 1)
        if self.feature_dropout and self.first_feature_id is None:
            raise ValueError("`feature_dropout` needs `first_feature_id`, the id of the first "
                             "feature tag.")
        self.epoch = 0
        # Sentences are right-padded, so a length is the number of non-padding ids.
        self.source_lengths = (self.encoder_ids != PAD_ID).sum(axis=1)
        self.target_lengths = (self.decoder_ids != PAD_ID).sum(axis=1)
        # Without a seed, one drawn from NumPy's global generator, so that
        # keras.utils.set_random_seed makes the run repeatable.
        self._base_seed = seed if seed is not None else np.random.randint(0, 2 ** 31 - 1)
        self._rng = np.random.default_rng(self._base_seed)
        self._fill_logged = False
        self._batches = self._make_batches()

    @property
    def num_pairs(self) -> int:
        """Number of distinct pairs the batches are drawn from."""
        return int(self.encoder_ids.shape[0])

    def __len__(self) -> int:
        return len(self._batches)

    def __getitem__(self, index: int) -> Tuple[Tuple[np.ndarray, np.ndarray], np.ndarray]:
        rows = self._batches[index]
        source_len = self._padded(self.source_lengths[rows].max(), self.encoder_ids.shape[1])
        target_len = self._padded(self.target_lengths[rows].max(), self.decoder_ids.shape[1])
        sources = self.encoder_ids[rows, :source_len]
        if self.feature_dropout:
            self._drop_features(sources, index)
        part, parts = self.shard
        if parts > 1:
            size = len(rows) // parts
            rows = rows[part * size:(part + 1) * size]
            sources = sources[part * size:(part + 1) * size]
        return ((onehot(sources, self.vocab_size),
                 onehot(self.decoder_ids[rows, :target_len], self.vocab_size)),
                onehot(self.target_ids[rows, :target_len], self.vocab_size))

    def on_epoch_end(self) -> None:
        self.epoch += 1
        if self.shuffle:
            self._batches = self._make_batches()

    def set_epoch(self, epoch: int) -> None:
        """Continue the sequence of shuffles at ``epoch`` (used when training resumes)."""
        self.epoch = int(epoch)
        if self.shuffle:
            self._batches = self._make_batches()

    # --- internals -----------------------------------------------------------------------

    def _drop_features(self, sources: np.ndarray, index: int) -> None:
        """Replace tags of ``sources`` (a copy) by ``UNK_ID``, in place."""
        # Drawn over the whole batch, before a process takes its slice, from (seed, epoch,
        # batch): the same for every process and for a resumed run.
        rng = np.random.default_rng((self._base_seed, self.epoch, index))
        dropped = ((sources >= self.first_feature_id)
                   & (rng.random(sources.shape) < self.feature_dropout))
        sources[dropped] = UNK_ID

    def _padded(self, length: int, limit: int) -> int:
        return int(min(limit, max(1, math.ceil(length / self.length_step) * self.length_step)))

    def _make_batches(self) -> List[np.ndarray]:
        count = self.num_pairs
        size = self.batch_size
        if self.shuffle:
            rng = (np.random.default_rng(self.seed + self.epoch) if self.seed is not None
                   else self._rng)
            order = rng.permutation(count)
        else:
            rng = None
            order = np.arange(count)
        # Sort by target length first: the decoder runs over the targets, the longer part.
        key = self.target_lengths * (self.encoder_ids.shape[1] + 1) + self.source_lengths
        pool = size * POOL_BATCHES if self.shuffle else count
        batches: List[np.ndarray] = []
        for start in range(0, count, pool):
            chunk = order[start:start + pool]
            chunk = chunk[np.argsort(key[chunk], kind="stable")]
            batches.extend(chunk[i:i + size] for i in range(0, len(chunk), size))
        last = batches[-1]
        short = (-len(last)) % self.multiple_of
        if short:
            fill = (rng or np.random.default_rng(0)).choice(count, size=short,
                                                             replace=short > count)
            batches[-1] = np.concatenate([last, fill])
            if not self._fill_logged:
                self._fill_logged = True
                logger.info("repeated %d pair(s) in each epoch to fill the last batch to a "
                            "multiple of %d devices", short, self.multiple_of)
        if rng is not None:
            rng.shuffle(batches)
        return batches


def _fit_input(batches: PairBatches) -> Any:
    """What to give ``keras.Model.fit`` for ``batches`` under the current backend.

    Under TensorFlow, a ``tf.data.Dataset`` whose batch and length dimensions are declared
    variable: Keras would otherwise infer fixed shapes from the first two batches and reject
    the next batch of another length. It prefetches, so one-hot expansion overlaps training,
    and it reshuffles the batches at the end of each pass. It repeats without end, so that
    Keras keeps one iterator for the whole run (a new iterator each epoch stalled the first
    step of an epoch by 1 to 4 s on two cores, seconds a 300 s budget does not have):
    ``fit`` needs the number of steps, which :func:`fit_arguments` gives. Under other
    backends, ``batches`` itself.
    """
    if keras.backend.backend() != "tensorflow":
        return batches
    import tensorflow as tf

    def iterate() -> Iterator[Tuple[Tuple[np.ndarray, np.ndarray], np.ndarray]]:
        for index in range(len(batches)):
            yield batches[index]
        batches.on_epoch_end()

    spec = tf.TensorSpec(shape=(None, None, batches.vocab_size), dtype=tf.float32)
    dataset = tf.data.Dataset.from_generator(iterate, output_signature=((spec, spec), spec))
    return dataset.repeat().prefetch(2)


def fit_arguments(batches: PairBatches, validation: Optional[PairBatches] = None
                  ) -> Dict[str, Any]:
    """The arguments of ``keras.Model.fit`` that feed it ``batches`` (and ``validation``).

    The inputs (``_fit_input``), and under TensorFlow, whose inputs repeat without end,
    the steps of an epoch and of a validation pass.
    """
    arguments: Dict[str, Any] = {
        "x": _fit_input(batches),
        "validation_data": None if validation is None else _fit_input(validation)}
    if keras.backend.backend() == "tensorflow":
        arguments["steps_per_epoch"] = len(batches)
        if validation is not None:
            arguments["validation_steps"] = len(validation)
    return arguments
