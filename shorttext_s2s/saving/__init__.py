"""Saving and loading models: one HDF5 file per model, described entirely by data.

* :mod:`~shorttext_s2s.saving.container`: the file as a container, read defensively and
  checked by a digest; it knows nothing of what the description says;
* :mod:`~shorttext_s2s.saving.description`: what the description says, section by section;
* :mod:`~shorttext_s2s.saving.compact`: :class:`CompactIOMachine`, which gives the model
  classes their four save and load methods;
* :mod:`~shorttext_s2s.saving.atomic`: writing a file so that it appears whole or not at all.

Nothing here imports Keras.
"""

from .compact import CompactIOMachine, load_compact, prefix_path
from .container import ModelFile, read_model_file, write_model_file

__all__ = ["CompactIOMachine", "load_compact", "prefix_path", "ModelFile", "read_model_file",
           "write_model_file"]
