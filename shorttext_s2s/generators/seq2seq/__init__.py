"""Alias of shorttext's ``shorttext.generators.seq2seq``."""
