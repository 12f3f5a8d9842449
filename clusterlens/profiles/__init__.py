"""Pure, vectorised lens and light profiles.

Every mass module (dpie, sie, nfw, shear) exposes ``deflection``, ``hessian``, ``convergence`` and
``potential`` taking (x, y, **parameters) with parameters that broadcast against x, y, and a
``PARAMETERS`` tuple naming them; :mod:`sersic` holds the light profiles. These functions know
nothing of CSV files: :mod:`clusterlens.registry` declares which CSV profile uses which functions.
"""
