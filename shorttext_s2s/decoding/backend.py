"""The only backend-specific code of decoding: compiling a function and drawing random numbers.

Everything else is ``keras.ops``. Two things have no backend-neutral form in Keras 3:

* compiling a whole Python function (with its ``while_loop``) into one graph: KerasHub's
  ``CausalLM`` does the same, ``tf.function`` on TensorFlow and ``jax.jit`` on JAX;
* random numbers from a seed that is itself a tensor argument of a compiled function
  (``keras.random`` accepts only Python ints or a stateful ``SeedGenerator``): we use the
  backends' stateless generators, keyed by ``(seed, step)``.

Other backends run the same functions eagerly (correct, not fast).
"""

from __future__ import annotations

from typing import Callable

import keras
from keras import ops

__all__ = ["compile_function", "stateless_uniform"]


def compile_function(function: Callable, jit_compile: bool = True) -> Callable:
    """Compile ``function`` for the current backend; it is traced once per input shape.

    Args:
        function: a function of tensors written with ``keras.ops``.
        jit_compile: TensorFlow only: compile with XLA. Defaults to True, the faster on
            ``benchmarks/decode_bench.py --compare-tf-jit`` (see docs/decoding.rst).

    Returns:
        The compiled function (``function`` itself on backends without a compiler here).
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=jit_compile, reduce_retracing=False)
    if backend == "jax":
        import jax

        return jax.jit(function)
    return function


def stateless_uniform(shape, seed, step):
    """Uniform ``float32`` numbers in ``[0, 1)``, a pure function of ``(seed, step)``.

    Args:
        shape: output shape.
        seed: ``int32`` tensor of shape ``(2,)``.
        step: loop counter (scalar tensor); each step draws an independent stream.

    Returns:
        A ``float32`` tensor of ``shape``.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        key = tf.stack([seed[0], seed[1] + tf.cast(step, tf.int32)])
        return tf.random.stateless_uniform(shape, seed=key, dtype=tf.float32)
    if backend == "jax":
        import jax

        key = jax.random.fold_in(jax.random.wrap_key_data(seed.astype("uint32")), step)
        return jax.random.uniform(key, shape, dtype="float32")
    # Eager backends: the seed is concrete, so keras.random's integer seeds work.
    values = ops.convert_to_numpy(seed)
    return keras.random.uniform(shape, seed=int(values[0]) * 100003 + int(values[1])
                                + int(ops.convert_to_numpy(step)))
