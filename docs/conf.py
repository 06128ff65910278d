"""Sphinx configuration of the shorttext-s2s documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` (``-W``: warnings are errors,
as in CI). The API reference is generated from the docstrings (Google style) by autodoc and
napoleon, so the package must be importable: it is taken from this checkout.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

from shorttext_s2s import __version__  # noqa: E402  (after the path is set)

project = "shorttext-s2s"
author = "shorttext-s2s developers"
copyright = "2026, shorttext-s2s developers"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

# Google-style docstrings, as the whole package writes them.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# "Attributes:" sections become fields of their class rather than separate attribute entries,
# which would clash with the attributes autodoc documents itself.
napoleon_use_ivar = True

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"

exclude_patterns = ["_build"]
templates_path = []
# Furo scrolls long code lines and wraps the page to the window (alabaster cut them at its fixed
# width); the other themes are used when it is not installed (it comes with the docs extra).
try:
    import furo  # noqa: F401
except ImportError:
    html_theme = "alabaster"
else:
    html_theme = "furo"
html_title = f"shorttext-s2s {release}"
html_static_path = []


def _drop_type_docstrings(app, what, name, obj, options, lines):
    """A constant without a doc comment gets no docstring, rather than its type's.

    autodoc falls back on ``type(value).__doc__`` (``int([x]) -> integer``...) for a module
    constant that has no ``#:`` comment; the reference text is then given in ``api.rst``.
    """
    if what not in ("data", "attribute") or not lines:
        return
    type_doc = getattr(type(obj), "__doc__", None)
    if not isinstance(type_doc, str) or not type_doc.strip():
        return
    if lines[0].strip() == type_doc.strip().splitlines()[0].strip():
        lines[:] = []


def setup(app):
    # Before napoleon (priority 500) rewrites the lines.
    app.connect("autodoc-process-docstring", _drop_type_docstrings, priority=400)
