"""A network that is not the library's: the one new file a new network is (with its entry)."""

from shorttext_s2s.networks.lstm import LSTMNetwork


class ToyNetwork(LSTMNetwork):
    """The Keras example's LSTM, bidirectional unless told otherwise: its own name, default
    and recipe come from its catalog entry, everything else from the LSTM network."""

    def __init__(self, vecsize: int, latent_dim: int, bidirectional: bool = True) -> None:
        super().__init__(vecsize, latent_dim, bidirectional=bidirectional)
