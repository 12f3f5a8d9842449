"""dynesty's bounding and proposal methods that clusterlens offers.

:class:`clusterlens.fit.sampler.SamplerSettings` validates against them; the command line lists them
from here without importing the fitting stack (``clusterlens.fit`` imports scipy, pandas, dynesty).
"""
BOUNDS = ("none", "single", "multi", "balls", "cubes")
METHODS = ("auto", "unif", "rwalk", "slice", "rslice")
