"""The networks a model can be built with, by name.

Each network is one module: its Keras layers and the inference functions that mirror them
(see :class:`~shorttext_s2s.networks.base.Network`).
"""

from .base import BuiltModels, Network, PaddingMask
from .lstm import LSTMNetwork, LSTMWeights

__all__ = ["Network", "BuiltModels", "PaddingMask", "LSTMNetwork", "LSTMWeights"]
