"""One way to print a score over episodes, so that nobody reads a standard deviation as an error bar.

Every command that prints a mean return over episodes (``evolve``,
``batch``, ``inspect``, ``replay``, ``report``) writes it as::

    2936.9 +- 9.9 sd (se 1.0)

``sd`` is the spread of the episodes' returns (``numpy.std``, over ``n``);
``se`` is the standard error of their mean, ``sd / sqrt(n - 1)`` (the same
number as the sample sd, ``ddof = 1``, over ``sqrt(n)``). The sd says how much
one episode varies; the se says how well ``n`` episodes pin the mean down.
"""

from __future__ import annotations

import math


def mean_sd_se(mean: float, sd: float, n: int) -> str:
    """``"mean +- sd sd (se se)"`` of ``n`` episodes whose population sd (``numpy.std``) is ``sd``.

    One decimal each; ``"n/a"`` for no episode or a NaN mean; one episode has
    no spread to report (``"mean (1 episode: no sd)"``).
    """
    if n < 1 or math.isnan(mean):
        return "n/a"
    if n == 1:
        return f"{mean:.1f} (1 episode: no sd)"
    return f"{mean:.1f} +- {sd:.1f} sd (se {sd / math.sqrt(n - 1):.1f})"
