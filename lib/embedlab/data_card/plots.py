"""The data card's figure: type/token curves."""
from __future__ import annotations

import pandas as pd


def type_token_figure(curves: dict[str, pd.DataFrame], languages: dict[str, str]):
    """Type/token curves of the corpora on one log-log plot."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, curve in curves.items():
        ax.plot(curve["tokens"], curve["types"], marker=".", label=f"{name} ({languages.get(name, '?')})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens read (log)")
    ax.set_ylabel("distinct types (log)")
    ax.set_title("Type/token curves of the offline corpora")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig
