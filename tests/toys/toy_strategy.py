"""A decoding strategy that is not the library's: one new file (with its entry)."""

from typing import Any, Dict

from keras import ops

from shorttext_s2s.decoding import DecodingStrategy


class NthAllowedStrategy(DecodingStrategy):
    """Always the ``offset``-th smallest id that may be emitted: 0 is the end signal (an
    empty output), 1 the first unit of the vocabulary, repeated to the longest output."""

    compactable = True

    def __init__(self, offset: int = 0) -> None:
        self.offset = int(offset)

    def get_config(self) -> Dict[str, Any]:
        return {"offset": self.offset}

    def get_next_token(self, logits, seed, step):
        allowed = ops.cast(ops.isfinite(logits), "int32")
        # The position where the running count of allowed ids first exceeds the offset.
        return ops.argmax(ops.cumsum(allowed, axis=-1) > self.offset, axis=-1)
