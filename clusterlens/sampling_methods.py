"""The samplers clusterlens offers, and dynesty's bounding and proposal methods.

:class:`clusterlens.fit.sampler.SamplerSettings` validates against them; the command line lists them
from here without importing the fitting stack (``clusterlens.fit`` imports scipy, pandas, dynesty).
"""
SAMPLERS = ("dynesty", "nautilus")
BOUNDS = ("none", "single", "multi", "balls", "cubes")
METHODS = ("auto", "unif", "rwalk", "slice", "rslice")
