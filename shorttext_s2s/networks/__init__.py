"""The networks a model can be built with, by name.

Each network is one module: its Keras layers and the inference functions that mirror them
(see :class:`~shorttext_s2s.networks.base.Network`). Its name, options and defaults are its
entry in :data:`shorttext_s2s.catalog.NETWORKS`, which is where a new network is registered.
"""

from __future__ import annotations

from typing import Any

from .. import catalog
from .attention import AttentionNetwork, AttentionWeights, LuongAttention
from .base import BuiltModels, Network, PaddingMask
from .lstm import LSTMNetwork, LSTMWeights
from .positions import SinusoidalPositions, sinusoidal_positions
from .transformer import TransformerNetwork, TransformerWeights

__all__ = ["Network", "BuiltModels", "PaddingMask", "LSTMNetwork", "LSTMWeights",
           "AttentionNetwork", "AttentionWeights", "LuongAttention", "TransformerNetwork",
           "TransformerWeights", "SinusoidalPositions", "sinusoidal_positions", "NETWORKS",
           "DEFAULT_NETWORK", "get_network"]

#: Network classes by name, as the catalog lists them.
NETWORKS = catalog.Classes("networks")

#: The network of new models when none is named (:data:`shorttext_s2s.catalog.DEFAULT_NETWORK`).
DEFAULT_NETWORK = catalog.DEFAULT_NETWORK


def get_network(name: str, vecsize: int, latent_dim: int, **options: Any) -> Network:
    """Make a network from its name, sizes and own options.

    Args:
        name: a name of :data:`shorttext_s2s.catalog.NETWORKS`: ``"lstm"``
            (:class:`LSTMNetwork`, option ``bidirectional``), ``"attention"``
            (:class:`AttentionNetwork`, options ``embedding_dim``, ``layers``, ``dropout``,
            ``context_layers``) or ``"transformer"`` (:class:`TransformerNetwork`, options
            ``layers``, ``heads``, ``feedforward_dim``, ``dropout``).
        vecsize: the vocabulary size.
        latent_dim: the decoder's units (the transformer's width).
        **options: the network's other constructor arguments.

    Raises:
        ValueError: an unknown name or an invalid option value.
        TypeError: an option the network does not have.

    Example:

    >>> get_network("attention", 40, 64, dropout=0.3).get_config()["dropout"]
    0.3
    """
    if not isinstance(name, str) or name not in catalog.NETWORKS:
        raise ValueError(f"Received an invalid value for argument `network`, expected one of "
                         f"{sorted(catalog.NETWORKS)}, got {name!r}.")
    try:
        return NETWORKS[name](vecsize, latent_dim, **options)
    except TypeError as exc:
        raise TypeError(f"the {name!r} network does not take these options: {exc}") from None
