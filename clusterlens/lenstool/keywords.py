"""Lenstool keywords, one table for reading and writing.

- :data:`POTENTIAL_FIELDS`: a ``potentiel`` keyword -> the field it sets (Lenstool's r_potentiel; the
  later of two keywords setting one field wins). The profiles' codecs (:mod:`clusterlens.registry`)
  read and write these fields; :data:`WRITTEN_WITH` is the keyword each field is written with.
- :data:`POTFILE_KEYWORDS`: the keywords of a ``potfile`` block; :data:`POTFILE_PRIORS`: its
  ``flag v1 v2`` keywords -> the ``scaling_relations.csv`` column they set.
- :data:`QUIET_BLOCKS`: blocks that hold run settings, not model content: skipped without a word.
"""
from __future__ import annotations

POTENTIAL_FIELDS = {
    "profil": "type", "profile": "type", "nid": "nid",
    "x_centre": "x", "y_centre": "y", "x_centre_wcs": "x_wcs", "y_centre_wcs": "y_wcs",
    "pmass": "pmass", "rhos": "pmass", "ellip_pot": "epot",
    "ellipticite": "emass", "ellipticity": "emass", "gamma": "emass",
    "angle_pos": "theta", "phi": "phi",
    "core_radius": "rc", "scale_radius": "rc", "re": "rc",
    "core_radius_kpc": "rckpc", "scale_radius_kpc": "rckpc", "re_kpc": "rckpc",
    "cut_radius": "rcut", "virial_radius": "rcut", "r200": "rcut",
    "cut_radius_kpc": "rcutkpc", "virial_radius_kpc": "rcutkpc", "r200_kpc": "rcutkpc",
    "v_disp": "sigma", "sigma_e": "sigma",
    "exponent": "alpha", "alpha": "alpha", "exposant": "alpha", "n": "alpha",
    "beta": "beta", "concentration": "beta", "c": "beta",
    "rc_slope": "rcslope", "z_lens": "z", "masse": "masse", "m200": "masse", "mass": "masse",
}

#: The keyword each field is written with (a codec's ``keywords`` may name another).
WRITTEN_WITH = {"type": "profil", "x": "x_centre", "y": "y_centre", "emass": "ellipticite", "theta": "angle_pos",
                "rc": "core_radius", "rcut": "cut_radius", "sigma": "v_disp", "beta": "concentration",
                "masse": "m200", "z": "z_lens"}


def field_of(keyword: str) -> str | None:
    """The field a ``potentiel`` keyword sets (``mag*`` -> mag, ``virial*`` -> masse), None if unknown."""
    name = POTENTIAL_FIELDS.get(keyword)
    if name is None and keyword.startswith("mag"):
        return "mag"
    if name is None and keyword.startswith("virial"):
        return "masse"
    return name


POTFILE_KEYWORDS = frozenset({"filein", "type", "zlens", "z_lens", "mag0", "select", "core", "corekpc", "cut",
                              "cutkpc", "slope", "sigma", "vdslope", "vdscatter", "rcutscatter", "m200slope",
                              "c200slope", "a", "b", "m200", "c200", "r200"})
#: Potfile ``flag v1 v2`` keywords -> scaling_relations column (``cutkpc``, ``corekpc``: ``cut``, ``core`` in kpc).
POTFILE_PRIORS = {"sigma": "sigma_ref", "core": "r_core_ref", "cut": "r_cut_ref", "slope": "r_cut_slope",
                  "vdslope": "sigma_slope"}

QUIET_BLOCKS = frozenset({"runmode", "image", "grille", "source", "cline", "grande", "champ", "cosmologie",
                          "cosmolimit", "observation", "cleanlens", "dynfile", "vfield", "vfieldlimit", "shapemodel",
                          "shapelimit", "sigposlimit", "zlimit", "fini"})
