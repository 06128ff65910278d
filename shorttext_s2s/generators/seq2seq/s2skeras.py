"""Alias of shorttext's ``shorttext.generators.seq2seq.s2skeras``."""

from ...model import Seq2SeqWithKeras, loadSeq2SeqWithKeras

__all__ = ["Seq2SeqWithKeras", "loadSeq2SeqWithKeras"]
