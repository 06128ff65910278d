"""Training across processes, on JAX's distributed runtime as Keras sets it up.

Several processes (one per host, or one per GPU) run the same script or command and train one
model data-parallel: each reads the same pairs, forms the same global batches (the shuffling
seed is process 0's) and feeds its own slice of each
(:class:`~shorttext_s2s.training.batches.PairBatches` ``shard``); the backend averages the
gradients across processes (gloo on CPUs, NCCL on GPUs), so every process holds the same
weights after every step. Process 0 alone writes files (checkpoints, the model) and prints
progress; a stop asked on any process (SIGINT, SIGTERM) stops all of them at the same batch
(:class:`~shorttext_s2s.training.callbacks.StopOnSignal`).

This module is the only place that talks to the runtime: on one process, or on a backend
without one, each function answers as for a single process.

Example (every process runs it; the launcher sets the three ``KERAS_DISTRIBUTION_*``
variables, or Slurm its own):

.. code-block:: python

   from shorttext_s2s.training import distributed

   distribution = distributed.initialize()
   generator.train_pairs(pairs, distribution=distribution, checkpoint="run.s2s.h5")
   if distributed.is_main_process():
       generator.save_compact_model("model.s2s.h5")
"""

from __future__ import annotations

import logging
import os
from typing import Any, Optional

import keras
import numpy as np

from ..exceptions import DistributedError

__all__ = ["initialize", "process_count", "process_index", "is_main_process", "spans_processes",
           "any_process", "shared_seed", "ENVIRONMENT"]

logger = logging.getLogger(__name__)

#: The environment variables :func:`initialize` reads when its arguments are not given:
#: Keras's own (``keras.distribution.initialize``); on Slurm, JAX reads ``SLURM_*`` instead.
ENVIRONMENT = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
               "KERAS_DISTRIBUTION_PROCESS_ID")


def initialize(coordinator: Optional[str] = None, num_processes: Optional[int] = None,
               process_id: Optional[int] = None) -> Any:
    """Join this process to a multi-process run and return the distribution to train with.

    Call it in every process before anything else runs on the backend (it must be the first
    JAX computation of the process). Arguments left out are read from :data:`ENVIRONMENT`;
    with none of them set, JAX detects the cluster it runs in (Slurm, Cloud TPU...).

    Args:
        coordinator: ``host:port`` of process 0, which the others connect to (a
            comma-separated list of every process's address is accepted too, as Keras takes it).
        num_processes: how many processes the run has.
        process_id: this process's rank, 0 to ``num_processes - 1``; process 0 coordinates and
            writes the files.

    Returns:
        A ``keras.distribution.DataParallel`` over the devices of every process, which
        :meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.train_pairs` takes as
        ``distribution`` (the batches are split across processes by the library, not by
        Keras: its ``auto_shard_dataset`` is off).

    Raises:
        DistributedError: the backend is not JAX (the message says what works on TensorFlow),
            or the processes could not form the run (bad settings, coordinator unreachable).
    """
    backend = keras.backend.backend()
    if backend != "jax":
        raise DistributedError(
            f"training across processes needs the JAX backend (KERAS_BACKEND=jax), the backend "
            f"is {backend!r}. On TensorFlow, train on the devices of one machine with "
            f"distribution=tf.distribute.MirroredStrategy(), or across machines from Python "
            f"with tf.distribute.MultiWorkerMirroredStrategy() configured by TF_CONFIG.")
    import jax

    if not _runtime_started():
        settings = {name: value for name, value in
                    zip(("coordinator", "num_processes", "process_id"),
                        (coordinator, num_processes, process_id)) if value is not None}
        settings.update({name: os.environ[name] for name in ENVIRONMENT if name in os.environ})
        try:
            keras.distribution.initialize(coordinator, num_processes, process_id)
        except (RuntimeError, ValueError) as error:
            raise DistributedError(f"could not join the run ({_one_line(error)}); settings: "
                                   f"{settings or 'none given'}") from error
        logger.info("process %d of %d joined the run (devices: %s)", jax.process_index(),
                    jax.process_count(), ", ".join(str(d) for d in jax.devices()))
    return keras.distribution.DataParallel(auto_shard_dataset=False)


def _runtime_started() -> bool:
    from jax._src import distributed as jax_distributed  # no public "is initialized" yet

    return getattr(jax_distributed.global_state, "client", None) is not None


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def process_count() -> int:
    """Number of processes in the run (1 outside a multi-process run)."""
    if keras.backend.backend() != "jax" or not _runtime_started():
        return 1
    import jax

    return int(jax.process_count())


def process_index() -> int:
    """This process's rank in the run (0 outside a multi-process run)."""
    if process_count() == 1:
        return 0
    import jax

    return int(jax.process_index())


def is_main_process() -> bool:
    """Whether this process writes the run's files and prints its progress (rank 0)."""
    return process_index() == 0


def spans_processes(distribution: Any) -> bool:
    """Whether training under ``distribution`` involves several processes."""
    return distribution is not None and not hasattr(distribution, "num_replicas_in_sync") \
        and process_count() > 1


def any_process(value: int) -> int:
    """The largest of the values every process passes (each must call it at the same point).

    Used to agree on a decision that one process may have taken alone (a stop request); on one
    process, ``value`` itself.
    """
    if process_count() == 1:
        return int(value)
    from jax.experimental import multihost_utils

    return int(np.max(multihost_utils.process_allgather(np.asarray(value, dtype=np.int32))))


def shared_seed(seed: Optional[int]) -> Optional[int]:
    """``seed``, or in a multi-process run without one, a seed drawn by process 0 and given to
    every process: each must shuffle the pairs into the same global batches."""
    if seed is not None or process_count() == 1:
        return seed
    from jax.experimental import multihost_utils

    drawn = np.asarray(np.random.randint(0, 2 ** 31 - 1), dtype=np.int32)
    return int(multihost_utils.broadcast_one_to_all(drawn))
