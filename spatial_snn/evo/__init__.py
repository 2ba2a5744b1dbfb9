"""Evolution: the seed tree, variation operators (mutate, crossover, prune) and
the genetic algorithm (ask / tell, DEAP selection).

Knows nothing of environments, processes or files: fitness arrives as numbers.
May import :mod:`spatial_snn.space` and :mod:`spatial_snn.sim`.
"""
