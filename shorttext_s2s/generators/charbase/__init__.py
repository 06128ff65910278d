"""Alias of shorttext's ``shorttext.generators.charbase``."""
