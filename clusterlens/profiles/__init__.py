"""Pure, vectorised lens and light profiles.

Every mass module (dpie, sie, nfw, shear) exposes ``deflection``, ``hessian``,
``convergence`` and ``potential`` taking (x, y, **parameters) with parameters
that broadcast against x, y, and a ``PARAMETERS`` tuple naming them.
``MASS_PROFILES`` maps the CSV profile names to these modules.
"""

from . import dpie, nfw, sersic, shear, sie

MASS_PROFILES = {"dPIE": dpie, "SIE": sie, "NFW": nfw, "ExternalShear": shear}

__all__ = ["MASS_PROFILES", "dpie", "nfw", "sersic", "shear", "sie"]
