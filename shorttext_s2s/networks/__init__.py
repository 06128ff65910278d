"""The networks a model can be built with, by name.

Each network is one module: its Keras layers and the inference functions that mirror them
(see :class:`~shorttext_s2s.networks.base.Network`). A new network is registered here.
"""

from __future__ import annotations

from typing import Any, Dict, Type

from .attention import AttentionNetwork, AttentionWeights, LuongAttention
from .base import BuiltModels, Network, PaddingMask
from .lstm import LSTMNetwork, LSTMWeights
from .positions import SinusoidalPositions, sinusoidal_positions
from .transformer import TransformerNetwork, TransformerWeights

__all__ = ["Network", "BuiltModels", "PaddingMask", "LSTMNetwork", "LSTMWeights",
           "AttentionNetwork", "AttentionWeights", "LuongAttention", "TransformerNetwork",
           "TransformerWeights", "SinusoidalPositions", "sinusoidal_positions", "NETWORKS",
           "DEFAULT_NETWORK", "get_network"]

#: Network classes by name.
NETWORKS: Dict[str, Type[Network]] = {
    LSTMNetwork.name: LSTMNetwork,
    AttentionNetwork.name: AttentionNetwork,
    TransformerNetwork.name: TransformerNetwork,
}

#: The network of new models when none is named: the one that translates best at the quality
#: benchmark's budget (docs/networks.rst has the figures). Files that name no network (those
#: of release 0.1.0) hold ``"lstm"``.
DEFAULT_NETWORK = AttentionNetwork.name


def get_network(name: str, vecsize: int, latent_dim: int, **options: Any) -> Network:
    """Make a network from its name, sizes and own options.

    Args:
        name: ``"lstm"`` (:class:`LSTMNetwork`, option ``bidirectional``), ``"attention"``
            (:class:`AttentionNetwork`, options ``embedding_dim``, ``layers``, ``dropout``,
            ``context_layers``) or
            ``"transformer"`` (:class:`TransformerNetwork`, options ``layers``, ``heads``,
            ``feedforward_dim``, ``dropout``).
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
    cls = NETWORKS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"Received an invalid value for argument `network`, expected one of "
                         f"{sorted(NETWORKS)}, got {name!r}.")
    try:
        return cls(vecsize, latent_dim, **options)
    except TypeError as exc:
        raise TypeError(f"the {name!r} network does not take these options: {exc}") from None
