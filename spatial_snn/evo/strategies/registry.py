"""The strategies by name: ``[search] strategy`` picks one of :data:`STRATEGIES`."""

from __future__ import annotations

from . import ars, ec, open_es, pgpe, sep_cma_es

#: Strategy name -> module (each implements ``Params, State, init, ask, tell, centre``).
STRATEGIES = {m.NAME: m for m in (open_es, pgpe, sep_cma_es, ars, ec)}

__all__ = ["STRATEGIES"]
