"""The likelihoods and samplers clusterlens offers, dynesty's bounding and proposal methods, and the default
width of a fit's ``--within`` box (:mod:`clusterlens.fit.within`).

The point likelihood and :class:`clusterlens.fit.sampler.SamplerSettings` validate against them; the
command line lists them from here without importing the fitting stack (``clusterlens.fit`` imports
scipy, pandas, dynesty).
"""
LIKELIHOODS = ("source", "image", "lenstool")
SAMPLERS = ("dynesty", "nautilus")
BOUNDS = ("none", "single", "multi", "balls", "cubes")
METHODS = ("auto", "unif", "rwalk", "slice", "rslice")
WITHIN_WIDTH = 6.0  #: half-width of a --within box, in posterior standard deviations
