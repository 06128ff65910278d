"""Training: the :class:`Trainer` that runs a generator's training, and what it is made of.

* :mod:`~shorttext_s2s.training.trainer`: the :class:`Trainer` (encoding and splitting the
  pairs, checkpoints and resuming, devices), which
  :meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.train_pairs` runs;
* :mod:`~shorttext_s2s.training.batches`: length-bucketed batches of ids;
* :mod:`~shorttext_s2s.training.recipes`: the optimizer, loss and callbacks of each recipe;
* :mod:`~shorttext_s2s.training.selection`: which epoch's weights are kept, and when
  training stops early;
* :mod:`~shorttext_s2s.training.callbacks`: checkpoints, time budgets, clean stops;
* :mod:`~shorttext_s2s.training.metrics`: the per-character accuracy;
* :mod:`~shorttext_s2s.training.distributed`: training across processes (JAX).
"""

from .trainer import Trainer, distribution_scope, replica_count

__all__ = ["Trainer", "distribution_scope", "replica_count"]
