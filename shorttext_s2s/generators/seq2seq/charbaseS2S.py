"""Alias of shorttext's ``shorttext.generators.seq2seq.charbaseS2S``."""

from ...generator import CharBasedSeq2SeqGenerator, loadCharBasedSeq2SeqGenerator

__all__ = ["CharBasedSeq2SeqGenerator", "loadCharBasedSeq2SeqGenerator"]
