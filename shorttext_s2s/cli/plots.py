"""``train --plot``: the training curves, drawn with matplotlib (the ``plot`` extra)."""

from __future__ import annotations

from typing import Any

from ..extras import import_extra

__all__ = ["pyplot", "plot_history", "ACCURACY_KEYS"]

#: History keys of the accuracy metric, in order of preference: the library's masked metric,
#: then Keras's own when a model is compiled with ``metrics=["accuracy"]``.
ACCURACY_KEYS = ("char_accuracy", "accuracy")


def pyplot() -> Any:
    """matplotlib's ``pyplot`` with a backend that draws to files (the ``plot`` extra)."""
    matplotlib = import_extra("matplotlib", "plot", "--plot")
    # A file is wanted, never a window: the non-interactive backend works without a display.
    matplotlib.use("Agg")
    return import_extra("matplotlib.pyplot", "plot", "--plot")


def plot_history(history: dict, path: str) -> None:
    """Save the loss and accuracy curves of a Keras ``History.history`` to ``path``."""
    plt = pyplot()
    from matplotlib import ticker
    panels = [("loss", "loss")] + [(key, "per-character accuracy") for key in ACCURACY_KEYS
                                   if key in history][:1]
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
    for axis, (key, title) in zip(axes[0], panels):
        epochs = range(1, len(history[key]) + 1)
        axis.plot(epochs, history[key], label="training")
        if f"val_{key}" in history:
            axis.plot(epochs, history[f"val_{key}"], label="validation")
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
