"""Evolution: the seed tree, variation operators (mutate, crossover, prune),
the genetic algorithm (ask / tell, DEAP selection) and the search strategies
(:mod:`.strategies`: OpenES, PGPE, separable CMA-ES, ARS, Evolving
Connectivity; their codecs :mod:`.gene_vector`, :mod:`.edge_codec`; the
driver :mod:`.search`).

Knows nothing of environments, processes or files: fitness arrives as numbers.
May import :mod:`spatial_snn.space` and :mod:`spatial_snn.sim`.
"""
