"""Space: the genome and everything that follows from neuron positions.

Owns the struct-of-arrays :class:`Genome`, the distance laws (probability,
strength, delay), the spatial-index pair sampling and degree calibration, the
grid layouts and presets, and random genomes. The lowest layer: imports numpy
and scipy only, nothing else of the package.
"""
