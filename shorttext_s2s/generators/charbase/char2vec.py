"""Alias of shorttext's ``shorttext.generators.charbase.char2vec``."""

from ...encoder import SentenceToCharVecEncoder, initSentenceToCharVecEncoder

__all__ = ["SentenceToCharVecEncoder", "initSentenceToCharVecEncoder"]
