"""The likelihoods and samplers clusterlens offers, and dynesty's bounding and proposal methods.

The point likelihood and :class:`clusterlens.fit.sampler.SamplerSettings` validate against them; the
command line lists them from here without importing the fitting stack (``clusterlens.fit`` imports
scipy, pandas, dynesty).
"""
LIKELIHOODS = ("source", "image", "lenstool")
SAMPLERS = ("dynesty", "nautilus")
BOUNDS = ("none", "single", "multi", "balls", "cubes")
METHODS = ("auto", "unif", "rwalk", "slice", "rslice")
