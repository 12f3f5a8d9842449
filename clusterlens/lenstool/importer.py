"""Lenstool ``.par`` (+ catalogues) -> clusterlens family records, dataset settings and a ClusterModel.

What becomes what (Lenstool names on the left):

- ``runmode reference 3 RA DEC`` -> ``dataset.toml`` [reference]; ``cosmologie`` H0, omegaM, omegaX
  -> [cosmology] H0, Om0 (+ Ode0 when omegaM + omegaX != 1; wX != -1 or wa != 0 is an error).
- ``potentiel`` blocks -> ``host_halo.csv`` or ``main_lens_mass.csv`` rows named by the block label:
  profile 81 -> dPIE (``v_disp`` -> sigma, ``core_radius[_kpc]`` -> r_core, ``cut_radius[_kpc]`` ->
  r_cut, ``ellipticite`` emass -> q, ``angle_pos`` -> angle, ``x_centre``, ``y_centre`` -> x, y);
  profile 1 (or 0) with no ellipticity -> SIE with q = 1, r_core = 0, theta_e = 4 pi (sigma/c)^2;
  profile 8 (PIEMD, b0 = 6 pi (sigma/c)^2) -> the equivalent cored SIE (see :meth:`_Importer.potential_row`);
  profile 12 -> NFW (spherical; m200 and concentration, or what Lenstool derives them from);
  profile 14 -> ExternalShear (``gamma``, ``angle_pos``). Any other profile is an error naming the
  block. As in Lenstool, a ``_kpc`` radius wins over the arcsec one when both are given; kpc become
  arcsec with the model cosmology's angular diameter distance at the lens redshift.
- Host or main: a potential is a cluster- or group-scale halo, written to ``host_halo.csv``, when
  its core radius is at least :data:`HOST_MIN_CORE` arcsec or its sigma at least
  :data:`HOST_MIN_SIGMA` km/s, or when it is an NFW halo; every other potential (galaxies, and an
  external shear) goes to ``main_lens_mass.csv``.
- ``potfile`` blocks -> one ``scaling_relations.csv`` tier each, named after the member catalogue's
  file name without extension; the catalogue rows -> ``scaling_galaxies.csv`` members with
  q = b/a and angle = theta of the catalogue (Lenstool makes each member a profile-81 clump with
  emass = (a^2 - b^2)/(a^2 + b^2), i.e. exactly this b/a, at position angle theta), mag = the 7th
  column and redshift = the potfile's ``zlens``. mag0 -> mag_ref, sigma -> sigma_ref,
  core/corekpc -> r_core_ref, cut/cutkpc -> r_cut_ref (arcsec wins over kpc, as in Lenstool),
  sigma_slope = 1/vdslope, r_cut_slope = 2/slope, r_core_slope = 1/2.
- ``limit`` blocks (applied, as by Lenstool, to the potentials in file order) and the potfile's
  ``flag v1 v2`` values -> ``priors.csv``: flag 1 is uniform on [v1, v2], flag 3 normal with mean v1
  and sigma v2, flag 0 fixed. A prior on a quantity that is a non-linear function of a CSV column
  (``ellipticite`` for q, ``slope``/``vdslope`` for the slopes, ``v_disp`` for an SIE's theta_e)
  keeps the exact bounds (uniform) or is linearised (normal), with a :class:`LenstoolWarning`.
- The multiple-image catalogue (``image multfile`` or the ``images`` argument) ->
  ``point_datasets.csv`` (name = system, image = Lenstool id, sigma = ``sigposArcsec``) and one
  ``source_point.csv`` row per system (galaxy = name = system; x, y = mean of its images, the
  starting point of a fit; redshift from the catalogue, or from ``z_m_limit``: the best value of a
  result file's ``#ID z:Z`` header, and a prior when the redshift is free).
- Blocks that do not describe the model (grille, source, cline, grande, champ, cosmolimit, ...)
  are skipped quietly; an unknown keyword in a potentiel, limit or potfile block, a repeated
  potential name (made unique, e.g. ``O1`` -> ``O1_2``) or an ignored setting warns with its line.
"""
from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..units import (SIS_FACTOR, b0_from_sigma, kpc_per_arcsec, m200_from_r200, r200_from_m200, sigma_from_b0,
                     sky_offsets)
from .catalogues import Catalogue, image_system, parse_reference, read_catalogue
from .convert import dq_demass, emass_from_epot, q_from_emass
from .parfile import Block, Entry, LenstoolError, LenstoolWarning, ParFile, parse_par

#: A potential with a core at least this large [arcsec] is a host (cluster/group-scale) halo.
HOST_MIN_CORE = 5.0
#: A potential with a velocity dispersion at least this large [km/s] is a host halo.
HOST_MIN_SIGMA = 600.0

#: Blocks that hold run settings, not model content: skipped without a word.
QUIET_BLOCKS = {"runmode", "image", "grille", "source", "cline", "grande", "champ", "cosmologie", "cosmolimit",
                "observation", "cleanlens", "dynfile", "vfield", "vfieldlimit", "shapemodel", "shapelimit",
                "sigposlimit", "zlimit", "fini"}

# Lenstool r_potentiel: keyword -> field (later keywords overwrite earlier ones).
_POTENTIAL_FIELDS = {
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

# Fields each supported profile uses; any other field given a non-zero value is ignored with a warning.
_USED_FIELDS = {
    "dPIE": {"type", "nid", "x", "y", "x_wcs", "y_wcs", "epot", "emass", "theta", "rc", "rckpc", "rcut",
             "rcutkpc", "sigma", "z", "mag"},
    "SIS": {"type", "nid", "x", "y", "x_wcs", "y_wcs", "epot", "emass", "theta", "sigma", "z", "mag"},
    "NFW": {"type", "nid", "x", "y", "x_wcs", "y_wcs", "epot", "emass", "theta", "rc", "rckpc", "rcut",
            "rcutkpc", "sigma", "beta", "masse", "pmass", "rcslope", "alpha", "z", "mag"},
    "PIEMD": {"type", "nid", "x", "y", "x_wcs", "y_wcs", "epot", "emass", "theta", "rc", "rckpc", "sigma", "z",
              "mag"},
    "ExternalShear": {"type", "nid", "x", "y", "emass", "theta", "z", "mag"},
}
_PROFILES = {81: "dPIE", 8: "PIEMD", 0: "SIS", 1: "SIS", 12: "NFW", 14: "ExternalShear"}


@dataclass
class Potential:
    """One ``potentiel`` block: its name, the Lenstool fields read and where each came from."""

    name: str
    block: Block
    fields: dict[str, float | str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    row: dict | None = None
    family: str | None = None


@dataclass
class LenstoolImport:
    """The outcome of reading a Lenstool model: family records and dataset settings for
    :meth:`clusterlens.model.ClusterModel.from_records`, and the ``#key: value`` comments of the
    file's header (a result file's ``Chi2pos``, ``Chi2tot(dof=87)``, ``log(Evidence)``, ...)."""

    records: dict[str, list[dict]]
    dataset: dict
    header: dict[str, str] = field(default_factory=dict)


def read_par(par_path, images=None, position_sigma: float | None = None):
    """Read a Lenstool ``.par`` file (and its catalogues) into a validated :class:`ClusterModel`.

    ``images``: a multiple-image catalogue to use instead of (or, for a result file such as
    ``best.par``, in the absence of) the ``image multfile`` of the ``.par``. ``position_sigma``
    [arcsec]: the positional error of every image, overriding ``sigposArcsec``. Raises
    :class:`LenstoolError` for unreadable Lenstool input and :class:`clusterlens.ModelError` when the
    converted rows are not a valid model; warns with :class:`LenstoolWarning` (see module docstring).
    """
    from ..model import ClusterModel

    result = par_records(par_path, images=images, position_sigma=position_sigma)
    return ClusterModel.from_records(result.records, result.dataset)


def import_lenstool(par, images=None, out_folder=None, position_sigma: float | None = None,
                    overwrite: bool = False) -> Path:
    """``clusterlens import-lenstool``: read ``par`` (+ ``images``) and write the model folder ``out_folder``."""
    from ..model import save_model

    if out_folder is None:
        raise ValueError("import_lenstool needs out_folder: the folder to write the model CSVs and dataset.toml to")
    return save_model(read_par(par, images=images, position_sigma=position_sigma), out_folder, overwrite=overwrite)


def par_records(par_path, images=None, position_sigma: float | None = None) -> LenstoolImport:
    """The family records and dataset of a Lenstool model, before validation (see :func:`read_par`)."""
    par = parse_par(par_path)
    return _Importer(par, None if images is None else Path(images), position_sigma).run()


# ---------------------------------------------------------------------------------------------- importer
class _Importer:
    def __init__(self, par: ParFile, images: Path | None, position_sigma: float | None):
        self.par = par
        self.images = images
        self.position_sigma = position_sigma
        self.path = par.path
        self.priors: list[dict] = []

    def warn(self, message: str) -> None:
        warnings.warn(f"{self.path}: {message}", LenstoolWarning, stacklevel=4)

    def where(self, line: int) -> str:
        return f"{self.path}:{line}"

    # ------------------------------------------------------------------ top level
    def run(self) -> LenstoolImport:
        self.reference = self.read_reference()
        self.cosmology_spec = self.read_cosmology()
        from ..cosmology import make_cosmology

        self.cosmology = make_cosmology(self.cosmology_spec)
        self._kpc_per_arcsec: dict[float, float] = {}
        for block in self.par.blocks:
            if block.kind not in ("potentiel", "limit", "potfile") and block.kind not in QUIET_BLOCKS:
                self.warn(f"line {block.line}: block '{block.name}' is not part of a clusterlens model: skipped")
        potentials, tiers, members = self.read_lens()
        records: dict[str, list[dict]] = {}
        hosts = [p.row for p in potentials if p.family == "host_halo"]
        mains = [p.row for p in potentials if p.family == "main_lens_mass"]
        if hosts:
            records["host_halo"] = hosts
        if mains:
            records["main_lens_mass"] = mains
        if tiers:
            records["scaling_relations"] = tiers
            records["scaling_galaxies"] = members
        lens_names = {p.name for p in potentials} | {m["galaxy"] for m in members}
        sources, images = self.read_images(lens_names)
        if sources:
            records["source_point"] = sources
            records["point_datasets"] = images
        if self.priors:
            records["priors"] = self.priors
        dataset = {"reference": {"ra": self.reference.ra, "dec": self.reference.dec},
                   "cosmology": dict(self.cosmology_spec)}
        records, dataset = self.apply_directives(records, dataset)
        header = {}
        for text, _ in self.par.header:  # "#Chi2pos: 150.084066", "#log(Evidence) : -154.2"
            match = re.match(r"#\s*([^:#]+?)\s*:\s*(\S+)\s*$", text)
            if match:
                header.setdefault(match.group(1), match.group(2))
        return LenstoolImport(records, dataset, header)

    def read_reference(self):
        block = self.par.single("runmode")
        entry = block.last("reference") if block is not None else None
        if entry is None:
            raise LenstoolError(f"{self.path}: no 'reference' in a 'runmode' block: expected 'reference 3 RA DEC' "
                                "(the RA, Dec in degrees of x = y = 0)")
        reference = parse_reference(entry.values, self.where(entry.line))
        if reference.code == 0:
            raise LenstoolError(f"{self.where(entry.line)}: 'reference 0' (absolute coordinates everywhere) is not "
                                "supported: expected 'reference 3 RA DEC' or 'reference 1 hh:mm:ss dd:mm:ss'")
        return reference

    def read_cosmology(self) -> dict:
        block = self.par.single("cosmologie")
        if block is None:
            raise LenstoolError(f"{self.path}: no 'cosmologie' block: expected H0, omegaM (and omegaX)")
        values = {}
        for key in ("H0", "omegaM", "omegaX", "wX", "wa"):
            entry = block.last(key)
            if entry is not None:
                values[key] = entry.number(0, "value", self.path)
        for key in ("H0", "omegaM"):
            if key not in values:
                raise LenstoolError(f"{self.where(block.line)}: the 'cosmologie' block has no '{key}'")
        if values.get("wX", -1.0) != -1.0 or values.get("wa", 0.0) != 0.0:
            raise LenstoolError(f"{self.where(block.line)}: dark energy with wX = {values.get('wX', -1.0)!r}, "
                                f"wa = {values.get('wa', 0.0)!r} is not supported: expected wX = -1, wa = 0 "
                                "(a cosmological constant)")
        spec = {"H0": values["H0"], "Om0": values["omegaM"]}
        omega_x = values.get("omegaX")
        if omega_x is not None and abs(values["omegaM"] + omega_x - 1.0) > 1e-12:
            spec["Ode0"] = omega_x
        return spec

    def kpc_per_arcsec(self, z: float) -> float:
        if z not in self._kpc_per_arcsec:
            self._kpc_per_arcsec[z] = kpc_per_arcsec(self.cosmology, z)
        return self._kpc_per_arcsec[z]

    def critical_density(self, z: float) -> float:
        """rho_crit(z) [Msun/kpc^3] of the model's cosmology."""
        import astropy.units as u

        return float(self.cosmology.critical_density(z).to_value(u.Msun / u.kpc**3))

    # ------------------------------------------------------------------ lens: potentials, limits, potfiles
    def read_lens(self):
        potentials: list[Potential] = []
        tiers: list[dict] = []
        members: list[dict] = []
        lens_index = 0       # Lenstool's index of the next clump (potentials and potfile members)
        limit_index = 0      # Lenstool's index of the clump the next limit block applies to
        by_index: dict[int, Potential] = {}
        for block in self.par.blocks:
            if block.kind == "potentiel":
                potential = self.read_potential(block)
                potentials.append(potential)
                by_index[lens_index] = potential
                lens_index += 1
            elif block.kind == "limit":
                target = by_index.get(limit_index)
                if target is None:
                    raise LenstoolError(f"{self.where(block.line)}: limit block number {limit_index + 1} has no "
                                        f"potentiel to apply to: Lenstool applies the n-th limit block to the n-th "
                                        "potential, and there is none at that position")
                if block.label and block.label != target.block.label:
                    self.warn(f"line {block.line}: 'limit {block.label}' applies to 'potentiel "
                              f"{target.block.label}' (line {target.block.line}): Lenstool matches limit blocks "
                              "to potentials by order, not by name")
                self.read_limit(block, target)
                limit_index += 1
            elif block.kind == "potfile":
                tier = self.read_potfile(block, {t["tier"] for t in tiers})
                if tier is not None:
                    relation, tier_members = tier
                    tiers.append(relation)
                    members.extend(tier_members)
                    lens_index += len(tier_members)
                    limit_index = lens_index
        self.make_names_unique(potentials)
        for potential in potentials:
            potential.family = _family_of(potential.row)
        return potentials, tiers, members

    def make_names_unique(self, potentials: list[Potential]) -> None:
        taken = {p.name for p in potentials}
        seen: dict[str, Potential] = {}
        for potential in potentials:
            first = seen.get(potential.name)
            if first is None:
                seen[potential.name] = potential
                continue
            number = 2
            while f"{potential.name}_{number}" in taken:
                number += 1
            new = f"{potential.name}_{number}"
            self.warn(f"line {potential.block.line}: potential name {potential.name!r} repeats line "
                      f"{first.block.line}: renamed {new!r}")
            taken.add(new)
            potential.name = new
            potential.row["galaxy"] = new
            for prior in self.priors:
                if prior.get("_potential") is potential:
                    prior["galaxy"] = new
        for prior in self.priors:
            prior.pop("_potential", None)

    def read_potential(self, block: Block) -> Potential:
        potential = Potential(block.label, block)
        seen_lines: dict[str, int] = {}
        for entry in block.entries:
            key = entry.keyword
            name = _POTENTIAL_FIELDS.get(key)
            if name is None and key.startswith("mag"):
                name = "mag"
            elif name is None and key.startswith("virial"):
                name = "masse"
            if name is None:
                self.warn(f"line {entry.line}: unknown keyword '{key}' in 'potentiel {block.label}': ignored")
                continue
            if name in seen_lines:
                self.warn(f"line {entry.line}: '{key}' sets the same parameter as line {seen_lines[name]} in "
                          f"'potentiel {block.label}': the later line is used, as in Lenstool")
            seen_lines[name] = entry.line
            if name == "nid":
                potential.fields[name] = entry.word(0, "a name", self.path)
            elif name == "type":
                potential.fields[name] = entry.integer(0, "the profile number", self.path)
            else:
                potential.fields[name] = entry.number(0, "value", self.path)
            potential.lines[name] = entry.line
        if "nid" in potential.fields:
            potential.name = str(potential.fields["nid"])
        if not potential.name:
            raise LenstoolError(f"{self.where(block.line)}: potentiel block without a name: expected "
                                "'potentiel NAME'")
        potential.row = self.potential_row(potential)
        return potential

    def potential_row(self, potential: Potential) -> dict:
        f, block = potential.fields, potential.block
        where = f"{self.where(block.line)}: potentiel {potential.name}"
        if "type" not in f:
            raise LenstoolError(f"{where}: no 'profil': expected 81 (dPIE), 8 (PIEMD), 1 (SIS), 12 (NFW) or 14 "
                                "(external shear)")
        kind = _PROFILES.get(int(f["type"]))
        if kind is None:
            raise LenstoolError(f"{self.where(potential.lines['type'])}: potentiel {potential.name} has profil "
                                f"{f['type']}, which clusterlens does not model: expected 81 (dPIE), 8 (PIEMD), "
                                "1 (SIS), 12 (NFW) or 14 (external shear)")
        z = f.get("z", 0.0)
        if z <= 0:
            raise LenstoolError(f"{where}: no 'z_lens' (Lenstool stops too): expected the lens redshift")
        for name, value in f.items():
            if name not in _USED_FIELDS[kind] and value not in (0, 0.0):
                self.warn(f"line {potential.lines[name]}: '{name}' = {value!r} is not used by profile "
                          f"{f['type']} ({kind}) in potentiel {potential.name}: ignored")
        if kind == "ExternalShear":
            return {"galaxy": potential.name, "profile": "ExternalShear", "redshift": z,
                    "gamma": f.get("emass", 0.0), "angle": f.get("theta", 0.0)}
        x, y = self.centre(potential)
        emass = self.emass(potential)
        if kind == "dPIE":
            r_core = self.radius(potential, "rc", "rckpc", z, 0.0)
            r_cut = self.radius(potential, "rcut", "rcutkpc", z, None)
            if r_cut is None:
                raise LenstoolError(f"{where}: profile 81 needs 'cut_radius' or 'cut_radius_kpc' "
                                    "(a dPIE without a cut radius has infinite mass)")
            if "sigma" not in f:
                raise LenstoolError(f"{where}: profile 81 needs 'v_disp'")
            return {"galaxy": potential.name, "profile": "dPIE", "x": x, "y": y, "redshift": z,
                    "q": q_from_emass(emass), "angle": f.get("theta", 0.0), "sigma": f["sigma"],
                    "r_core": r_core, "r_cut": r_cut}
        if kind == "PIEMD":
            # kappa = (b0/2)/sqrt(rc^2 + rho^2), rho^2 = x'^2/(1+eps)^2 + y'^2/(1-eps)^2, b0 = 6 pi (sigma/c)^2,
            # is the cored SIE (docs/conventions.md#sie-cored) with theta_e = b0 / s, r_core = rc / s,
            # s = (1+q)/(2 sqrt q).
            if "sigma" not in f:
                raise LenstoolError(f"{where}: profile 8 needs 'v_disp'")
            q = q_from_emass(emass)
            stretch = (1.0 + q) / (2.0 * math.sqrt(q))
            b0 = float(b0_from_sigma(f["sigma"]))
            return {"galaxy": potential.name, "profile": "SIE", "x": x, "y": y, "redshift": z, "q": q,
                    "angle": f.get("theta", 0.0), "theta_e": b0 / stretch,
                    "r_core": self.radius(potential, "rc", "rckpc", z, 0.0) / stretch}
        if kind == "SIS":
            if f["type"] == 1 and emass != 0.0:
                raise LenstoolError(f"{self.where(potential.lines.get('emass', block.line))}: potentiel "
                                    f"{potential.name}: an elliptical profile 1 (pseudo-elliptical potential) has no "
                                    "exact clusterlens equivalent: expected ellipticite 0, or profile 81")
            if "sigma" not in f:
                raise LenstoolError(f"{where}: profile {f['type']} needs 'v_disp'")
            theta_e = float(b0_from_sigma(f["sigma"], SIS_FACTOR))
            return {"galaxy": potential.name, "profile": "SIE", "x": x, "y": y, "redshift": z, "q": 1.0,
                    "angle": 0.0, "theta_e": theta_e, "r_core": 0.0}
        return self.nfw_row(potential, x, y, z, emass)

    def nfw_row(self, potential: Potential, x: float, y: float, z: float, emass: float) -> dict:
        """Lenstool set_dynamics order: (c, m200), (c, r200), (c, r_s), (r_s, m200), (r_s, r200)."""
        f = potential.fields
        where = f"{self.where(potential.block.line)}: potentiel {potential.name}"
        if emass != 0.0:
            raise LenstoolError(f"{where}: an elliptical NFW (ellipticite {emass!r}) is not supported: "
                                "expected ellipticite 0 (clusterlens NFW halos are spherical)")
        if f.get("alpha", 0.0) != 0.0:
            raise LenstoolError(f"{where}: a generalised NFW (alpha {f['alpha']!r}) is not supported: expected alpha 0")
        d1 = self.kpc_per_arcsec(z)
        conc, m200 = f.get("beta", 0.0), f.get("masse", 0.0)
        rs_kpc = f["rckpc"] if f.get("rckpc", 0.0) != 0.0 else f.get("rc", 0.0) * d1
        r200_kpc = f["rcutkpc"] if "rcutkpc" in f else f.get("rcut", 0.0) * d1
        rho_crit = self.critical_density(z)
        if conc != 0.0 and m200 != 0.0:
            pass
        elif conc != 0.0 and r200_kpc != 0.0:
            m200 = float(m200_from_r200(r200_kpc, rho_crit))
        elif conc != 0.0 and rs_kpc != 0.0:
            m200 = float(m200_from_r200(conc * rs_kpc, rho_crit))
        elif rs_kpc != 0.0 and m200 != 0.0:
            conc = float(r200_from_m200(m200, rho_crit)) / rs_kpc
        elif rs_kpc != 0.0 and r200_kpc != 0.0:
            conc, m200 = r200_kpc / rs_kpc, float(m200_from_r200(r200_kpc, rho_crit))
        else:
            raise LenstoolError(f"{where}: profile 12 needs two of concentration, m200, scale_radius[_kpc] and "
                                "r200[_kpc] (a halo given by v_disp alone is not supported)")
        # spherical: q and angle stay blank (angle_pos of a round halo means nothing)
        return {"galaxy": potential.name, "profile": "NFW", "x": x, "y": y, "redshift": z, "m200": m200,
                "concentration": conc}

    def centre(self, potential: Potential) -> tuple[float, float]:
        f = potential.fields
        x, y = f.get("x", 0.0), f.get("y", 0.0)
        ra0, dec0 = self.reference.ra, self.reference.dec
        x_wcs, y_wcs = sky_offsets(f.get("x_wcs", ra0), f.get("y_wcs", dec0), ra0, dec0)
        # Lenstool converts *_wcs values as they are read: the later of x_centre / x_centre_wcs wins.
        if "x_wcs" in f and potential.lines["x_wcs"] > potential.lines.get("x", 0):
            x = float(x_wcs)
        if "y_wcs" in f and potential.lines["y_wcs"] > potential.lines.get("y", 0):
            y = float(y_wcs)
        return x, y

    def emass(self, potential: Potential) -> float:
        f = potential.fields
        emass = f.get("emass", 0.0)
        if emass == 0.0 and f.get("epot", 0.0) != 0.0:
            emass = emass_from_epot(f["epot"])
        if not 0.0 <= emass < 1.0:
            line = potential.lines.get("emass", potential.block.line)
            raise LenstoolError(f"{self.where(line)}: potentiel {potential.name}: ellipticite {emass!r} out of "
                                "range: expected 0 <= emass = (a^2-b^2)/(a^2+b^2) < 1")
        return emass

    def radius(self, potential: Potential, arcsec_key: str, kpc_key: str, z: float, default):
        """A length in arcsec from ``core_radius``/``cut_radius`` and their ``_kpc`` forms.

        Lenstool lets the kpc value win (set_lens) and converts it with its own distances. A result
        file (best.par) writes both, the arcsec one being what Lenstool computed the lens with; so
        when both are given and agree to 1% in the model cosmology the arcsec value is used
        (Lenstool's distances differ from astropy's by a few 0.1%), otherwise the kpc one, with a warning.
        """
        f = potential.fields
        kpc_set = f.get(kpc_key, 0.0) != 0.0 if kpc_key == "rckpc" else kpc_key in f
        if not kpc_set:
            return f.get(arcsec_key, default)
        from_kpc = f[kpc_key] / self.kpc_per_arcsec(z)
        if arcsec_key in f:
            if abs(f[arcsec_key] - from_kpc) <= 0.01 * abs(from_kpc):
                return f[arcsec_key]
            self.warn(f"line {potential.lines[arcsec_key]}: potentiel {potential.name}: {arcsec_key} "
                      f"{f[arcsec_key]!r} arcsec disagrees with {f[kpc_key]!r} kpc (= {from_kpc!r} arcsec): the kpc "
                      "value is used, as in Lenstool")
        return from_kpc

    # ------------------------------------------------------------------ priors
    def add_prior(self, family: str, galaxy: str, parameter: str, flag: int, v1: float, v2: float,
                  entry: Entry, potential: Potential | None = None) -> None:
        if flag == 1:
            lower, upper = sorted((v1, v2))
            prior = {"family": family, "galaxy": galaxy, "parameter": parameter, "prior": "uniform",
                     "lower": lower, "upper": upper}
        elif flag == 3:
            prior = {"family": family, "galaxy": galaxy, "parameter": parameter, "prior": "normal",
                     "mean": v1, "sigma": v2}
        else:
            raise LenstoolError(f"{self.where(entry.line)}: '{entry.keyword}' prior flag {flag}: expected 0 (fixed), "
                                "1 (uniform between the two values) or 3 (normal: mean, sigma)")
        if potential is not None:
            prior["_potential"] = potential
        self.priors.append(prior)

    def add_transformed_prior(self, family: str, galaxy: str, parameter: str, flag: int, v1: float, v2: float,
                              entry: Entry, forward, derivative, potential: Potential | None = None) -> None:
        """A prior on Lenstool's quantity u given to column c = forward(u) (monotonic on the prior's range)."""
        if flag == 1:
            a, b = forward(v1), forward(v2)
            self.add_prior(family, galaxy, parameter, 1, a, b, entry, potential)
            self.warn(f"line {entry.line}: uniform prior on '{entry.keyword}' [{v1!r}, {v2!r}] written as a uniform "
                      f"prior on {parameter} [{min(a, b)!r}, {max(a, b)!r}]: same bounds, different density")
        elif flag == 3:
            mean, sigma = forward(v1), abs(derivative(v1)) * v2
            self.add_prior(family, galaxy, parameter, 3, mean, sigma, entry, potential)
            self.warn(f"line {entry.line}: normal prior on '{entry.keyword}' (mean {v1!r}, sigma {v2!r}) written as a "
                      f"normal prior on {parameter} (mean {mean!r}, sigma {sigma!r}), linearised at the mean")
        else:
            self.add_prior(family, galaxy, parameter, flag, v1, v2, entry, potential)

    def read_limit(self, block: Block, potential: Potential) -> None:
        row = potential.row
        family = "host_halo" if _family_of(row) == "host_halo" else "main_lens_mass"
        profile = row["profile"]
        z = row["redshift"]
        for entry in block.entries:
            flag = entry.integer(0, "the prior flag", self.path)
            if flag == 0:
                continue
            v1 = entry.number(1, "the first prior value", self.path)
            v2 = entry.number(2, "the second prior value", self.path)
            key = entry.keyword
            args = (family, potential.name)
            if key in ("x_centre", "y_centre") and profile != "ExternalShear":
                self.add_prior(*args, key[0], flag, v1, v2, entry, potential)
            elif key == "angle_pos":
                self.add_prior(*args, "angle", flag, v1, v2, entry, potential)
            elif key in ("ellipticite", "ellipticity", "gamma") and profile == "ExternalShear":
                self.add_prior(*args, "gamma", flag, v1, v2, entry, potential)
            elif key in ("ellipticite", "ellipticity") and profile == "dPIE":
                if flag == 1 and max(v1, v2) >= 1.0 or flag == 3 and not 0.0 <= v1 < 1.0:
                    raise LenstoolError(f"{self.where(entry.line)}: ellipticite prior ({v1!r}, {v2!r}) reaches "
                                        "emass >= 1 (a line, q = 0): expected values below 1")
                self.add_transformed_prior(*args, "q", flag, max(v1, 0.0), v2 if flag == 3 else max(v2, 0.0), entry,
                                           q_from_emass, dq_demass, potential)
            elif key in ("v_disp", "sigma_e") and profile == "dPIE":
                self.add_prior(*args, "sigma", flag, v1, v2, entry, potential)
            elif key in ("v_disp", "sigma_e") and profile == "SIE":
                if v1 < 0.0 or flag == 1 and v2 < 0.0:
                    raise LenstoolError(f"{self.where(entry.line)}: {key} prior ({v1!r}, {v2!r}) reaches a negative "
                                        "velocity dispersion: expected values >= 0 km/s")
                self.add_transformed_prior(*args, "theta_e", flag, v1, v2, entry,
                                           lambda s: float(b0_from_sigma(s, SIS_FACTOR)),
                                           lambda s: 2.0 * float(b0_from_sigma(1.0, SIS_FACTOR)) * s, potential)
            elif key in ("core_radius", "cut_radius") and profile == "dPIE":
                self.add_prior(*args, "r_core" if key == "core_radius" else "r_cut", flag, v1, v2, entry, potential)
            elif key in ("core_radius_kpc", "cut_radius_kpc") and profile == "dPIE":
                d1 = self.kpc_per_arcsec(z)
                first, second = (v1 / d1, v2 / d1)
                self.add_prior(*args, "r_core" if key == "core_radius_kpc" else "r_cut", flag, first, second,
                               entry, potential)
            elif key in ("concentration", "c", "beta") and profile == "NFW":
                self.add_prior(*args, "concentration", flag, v1, v2, entry, potential)
            elif key in ("m200", "masse", "mass") and profile == "NFW":
                self.add_prior(*args, "m200", flag, v1, v2, entry, potential)
            else:
                self.warn(f"line {entry.line}: free '{key}' in 'limit {block.label}' has no clusterlens column for a "
                          f"{profile} row: ignored (the parameter stays fixed)")

    # ------------------------------------------------------------------ potfile tiers
    def read_potfile(self, block: Block, taken: set[str]):
        known = {"filein", "type", "zlens", "z_lens", "mag0", "select", "core", "corekpc", "cut", "cutkpc",
                 "slope", "sigma", "vdslope", "vdscatter", "rcutscatter", "m200slope", "c200slope", "a", "b",
                 "m200", "c200", "r200"}
        for entry in block.entries:
            if entry.keyword not in known and not entry.keyword.startswith(("vdscat", "rcutscat")):
                self.warn(f"line {entry.line}: unknown keyword '{entry.keyword}' in '{block.name}': ignored")
        filein = block.last("filein")
        if filein is None:
            return None  # Lenstool: a potfile without a catalogue only sets mag0
        ftype = filein.integer(0, "the catalogue type", self.path)
        if ftype not in (1, 3):
            raise LenstoolError(f"{self.where(filein.line)}: potfile catalogue type {ftype} is not supported: "
                                "expected 1 or 3 (id x y a b theta mag lum)")
        catalogue_path = self.par.path.parent / filein.word(1, "the catalogue file", self.path)
        where = f"{self.where(block.line)}: {block.name}"

        def value(*keys, index=0, required=True):
            entry = block.last(*keys)
            if entry is None:
                if required:
                    raise LenstoolError(f"{where} needs '{keys[0]}'")
                return None, None
            return entry.number(index, "value", self.path), entry

        kind, _ = value("type")
        if int(kind) != 81:
            raise LenstoolError(f"{where}: potfile profile type {int(kind)} is not supported: expected 81 (dPIE)")
        z, _ = value("zlens", "z_lens")
        if z <= 0:
            raise LenstoolError(f"{where}: zlens must be > 0 (Lenstool stops too)")
        d1 = self.kpc_per_arcsec(z)
        mag0, _ = value("mag0")
        core, _ = value("core", required=False)
        corekpc, corekpc_entry = value("corekpc", required=False)
        if core is None and corekpc is None:
            raise LenstoolError(f"{where} needs 'core' [arcsec] or 'corekpc' [kpc]")
        r_core = core if core is not None else corekpc / d1
        sigma_entry = block.last("sigma")
        cut_entry = block.last("cut") if block.last("cut") is not None else block.last("cutkpc")
        slope_entry, vdslope_entry = block.last("slope"), block.last("vdslope")
        for entry, name in ((sigma_entry, "sigma"), (cut_entry, "cut' or 'cutkpc"), (slope_entry, "slope"),
                            (vdslope_entry, "vdslope")):
            if entry is None:
                raise LenstoolError(f"{where} needs '{name}' (flag value1 value2)")
        tier = catalogue_path.stem
        if tier in taken:
            number = 2
            while f"{tier}_{number}" in taken:
                number += 1
            self.warn(f"line {block.line}: a tier named {tier!r} exists already: this one is named "
                      f"{tier}_{number!r}")
            tier = f"{tier}_{number}"

        def triple(entry):  # "flag value1 value2"; value2 may be left out when the flag is 0 (fixed)
            flag = entry.integer(0, "the prior flag", self.path)
            second = entry.number(2, "the second value", self.path) if flag or len(entry.values) > 2 else 0.0
            return flag, entry.number(1, "the value", self.path), second

        kpc = 1.0 / d1 if cut_entry.keyword == "cutkpc" else 1.0
        flag, s1, s2 = triple(sigma_entry)
        if flag:
            self.add_prior("scaling_relations", tier, "sigma_ref", flag, s1, s2, sigma_entry)
        cflag, c1, c2 = triple(cut_entry)
        if cflag:  # both values are lengths (bounds, or mean and sigma): the same kpc -> arcsec factor
            self.add_prior("scaling_relations", tier, "r_cut_ref", cflag, c1 * kpc, c2 * kpc, cut_entry)
        lflag, l1, l2 = triple(slope_entry)
        if lflag:
            self.add_transformed_prior("scaling_relations", tier, "r_cut_slope", lflag, l1, l2, slope_entry,
                                       lambda s: 2.0 / s, lambda s: -2.0 / (s * s))
        vflag, v1, v2 = triple(vdslope_entry)
        if vflag:
            self.add_transformed_prior("scaling_relations", tier, "sigma_slope", vflag, v1, v2, vdslope_entry,
                                       lambda s: 1.0 / s, lambda s: -1.0 / (s * s))
        for name in ("vdscatter", "rcutscatter"):
            entry = block.last(name)
            if entry is not None and entry.integer(0, "the flag", self.path) != 0:
                self.warn(f"line {entry.line}: '{name}' (random scatter about the scaling relation) is not "
                          "supported: ignored")
        if corekpc_entry is not None and core is not None:
            self.warn(f"line {corekpc_entry.line}: both 'core' and 'corekpc' given: 'core' is used, as in Lenstool")
        relation = {"tier": tier, "profile": "dPIE", "mag_ref": mag0, "sigma_ref": s1, "r_core_ref": r_core,
                    "r_cut_ref": c1 * kpc, "sigma_slope": 1.0 / v1, "r_core_slope": 0.5, "r_cut_slope": 2.0 / l1}
        catalogue = read_catalogue(catalogue_path, "potfile catalogue")
        members = self.members(catalogue, tier, z, ftype)
        return relation, members

    def members(self, catalogue: Catalogue, tier: str, z: float, ftype: int) -> list[dict]:
        x, y = catalogue.relative_to(self.reference.ra, self.reference.dec, no_header_is_relative=(ftype == 1))
        members = []
        for k, name in enumerate(catalogue.ids):
            a, b = catalogue.a[k], catalogue.b[k]
            where = f"{catalogue.path}:{catalogue.lines[k]}"
            if a < b or b < 0:
                raise LenstoolError(f"{where}: member {name!r} has a = {a!r} < b = {b!r}: expected a >= b >= 0 "
                                    "(Lenstool stops on a negative ellipticity)")
            if b == 0 and a > 0:
                raise LenstoolError(f"{where}: member {name!r} has b = 0: expected b > 0")
            q = 1.0 if a == 0 else float(b / a)
            members.append({"galaxy": name, "tier": tier, "x": float(x[k]), "y": float(y[k]),
                            "mag": float(catalogue.col7[k]), "q": q, "angle": float(catalogue.theta[k]),
                            "redshift": z})
        return members

    # ------------------------------------------------------------------ multiple images
    def read_images(self, lens_names: set[str]):
        block = self.par.single("image")
        path = self.images
        if path is None and block is not None:
            entry = block.last("multfile")
            if entry is not None:
                path = self.par.path.parent / entry.word(1, "the catalogue file", self.path)
        if path is None:
            return [], []
        catalogue = read_catalogue(path, "multiple-image catalogue")
        x, y = catalogue.relative_to(self.reference.ra, self.reference.dec)
        sigma = self.image_sigma(block)
        systems: dict[str, list[int]] = {}
        for k, image in enumerate(catalogue.ids):
            systems.setdefault(image_system(image), []).append(k)
        redshifts = self.system_redshifts(block, catalogue, systems)
        sources, images = [], []
        for system, rows in systems.items():
            galaxy = system
            if galaxy in lens_names:
                galaxy = f"source_{system}"
                self.warn(f"image system {system!r} has the name of a lens galaxy: its source galaxy is named "
                          f"{galaxy!r}")
            sources.append({"galaxy": galaxy, "name": system, "x": float(np.mean(x[rows])),
                            "y": float(np.mean(y[rows])), "redshift": redshifts[system]})
            for k in rows:
                images.append({"name": system, "image": catalogue.ids[k], "x": float(x[k]), "y": float(y[k]),
                               "sigma": sigma})
        for prior in self.priors:
            if prior["family"] == "source_point":
                prior["galaxy"] = next(s["galaxy"] for s in sources if s["name"] == prior["galaxy"])
        return sources, images

    def image_sigma(self, block: Block | None) -> float:
        if self.position_sigma is not None:
            if not self.position_sigma > 0:
                raise LenstoolError(f"position_sigma must be > 0 [arcsec], got {self.position_sigma!r}")
            return float(self.position_sigma)
        entry = block.last("sigposArcsec") if block is not None else None
        if entry is None:
            raise LenstoolError(f"{self.path}: no 'sigposArcsec' in an 'image' block: give the images' positional "
                                "error [arcsec] (position_sigma, CLI --position-sigma)")
        if len(entry.values) >= 3:
            flag = entry.integer(0, "the prior flag", self.path)
            value = entry.number(1, "the value", self.path)
            if flag != 0:
                self.warn(f"line {entry.line}: a free 'sigposArcsec' is not supported: the fixed value {value!r} is used")
            return value
        return entry.number(0, "the positional error", self.path)

    def system_redshifts(self, block: Block | None, catalogue: Catalogue, systems: dict[str, list[int]]):
        best = {}
        for text, _ in self.par.header:
            match = re.match(r"#(\S+)\s+z:\s*([-+0-9.eE]+)\s+dlsds:", text)
            if match:
                best[match.group(1)] = float(match.group(2))
        limits: dict[str, tuple] = {}
        for entry in (block.entries if block is not None else []):
            if entry.keyword != "z_m_limit":
                continue
            if entry.integer(0, "the on/off flag", self.path) == 0:
                continue
            ids = entry.word(1, "the image id", self.path)
            flag = entry.integer(2, "the prior flag", self.path)
            v1, v2 = entry.number(3, "the first value", self.path), entry.number(4, "the second value", self.path)
            names = [self.system_of(part, systems, entry) for part in ids.split(",")]
            if flag != 0 and len(set(names)) > 1:
                raise LenstoolError(f"{self.where(entry.line)}: a free redshift shared by systems {', '.join(names)} "
                                    "is not supported: expected one system per free z_m_limit")
            for name in names:
                limits[name] = (flag, v1, v2, entry, best.get(ids))
        redshifts = {}
        for system, rows in systems.items():
            values = {float(catalogue.col7[k]) for k in rows}
            if system in limits:
                flag, v1, v2, entry, best_z = limits[system]
                if flag == 0:
                    redshifts[system] = v1
                    continue
                z = best_z
                if z is None:
                    z = values.pop() if len(values) == 1 else None
                    inside = z is not None and (flag == 3 or min(v1, v2) <= z <= max(v1, v2))
                    if not inside or z <= 0:
                        z = v1 if flag == 3 else 0.5 * (v1 + v2)
                redshifts[system] = z
                self.add_prior("source_point", system, "redshift", flag, v1, v2, entry)
                continue
            if len(values) != 1:
                lines = ", ".join(str(catalogue.lines[k]) for k in rows)
                raise LenstoolError(f"{catalogue.path}: images of system {system!r} (lines {lines}) have different "
                                    f"redshifts {sorted(values)}: expected one redshift per system")
            z = values.pop()
            if z <= 0:
                raise LenstoolError(f"{catalogue.path}:{catalogue.lines[rows[0]]}: system {system!r} has redshift "
                                    f"{z!r} and no z_m_limit: expected a redshift > 0")
            redshifts[system] = z
        return redshifts

    def system_of(self, text: str, systems: dict, entry: Entry) -> str:
        if text in systems:
            return text
        if len(text) >= 2 and image_system(text) in systems:
            return image_system(text)
        raise LenstoolError(f"{self.where(entry.line)}: z_m_limit names {text!r}, which matches no image system of the "
                            f"catalogue (systems: {', '.join(systems)})")

    # ------------------------------------------------------------------ clusterlens directives
    def apply_directives(self, records: dict, dataset: dict):
        """Replace what ``#clusterlens`` directives (written by write_par) carry exactly."""
        overridden: dict[str, list[dict]] = {}
        for directive in self.par.directives:
            where = self.where(directive.line)
            try:
                if directive.kind == "family":
                    overridden[directive.text] = []
                elif directive.kind == "row":
                    family, _, payload = directive.text.partition(" ")
                    if family not in overridden:
                        raise LenstoolError(f"{where}: row directive for {family!r} before its "
                                            f"'#clusterlens-family {family}' line")
                    overridden[family].append(json.loads(payload))
                elif directive.kind == "dataset":
                    extra = json.loads(directive.text)
                    dataset.update({k: v for k, v in extra.items() if k not in ("reference", "cosmology")})
                    named = extra.get("cosmology", {}).get("name")
                    if named is not None:
                        dataset["cosmology"] = self.named_cosmology(named, where)
                else:
                    self.warn(f"line {directive.line}: unknown directive '#clusterlens-{directive.kind}': ignored")
            except json.JSONDecodeError as err:
                raise LenstoolError(f"{where}: directive is not valid JSON ({err.msg})") from None
        for family, rows in overridden.items():
            if rows:
                records[family] = rows
            else:
                records.pop(family, None)
        return records, dataset

    def named_cosmology(self, name: str, where: str) -> dict:
        """A named cosmology from a directive, kept only if the ``cosmologie`` block still describes it."""
        from ..cosmology import make_cosmology

        named = make_cosmology({"name": name})
        if (named.H0.value, named.Om0) == (self.cosmology_spec["H0"], self.cosmology_spec["Om0"]):
            return {"name": name}
        self.warn(f"{where}: the cosmologie block no longer matches the named cosmology {name!r}: the block is used")
        return dict(self.cosmology_spec)


def _family_of(row: dict) -> str:
    """host_halo for cluster/group-scale halos (see the module docstring), main_lens_mass otherwise."""
    profile = row["profile"]
    if profile == "NFW":
        return "host_halo"
    if profile == "ExternalShear":
        return "main_lens_mass"
    if profile == "dPIE":
        return "host_halo" if row["r_core"] >= HOST_MIN_CORE or row["sigma"] >= HOST_MIN_SIGMA else "main_lens_mass"
    sigma = float(sigma_from_b0(row["theta_e"], SIS_FACTOR))
    return "host_halo" if sigma >= HOST_MIN_SIGMA or row["r_core"] >= HOST_MIN_CORE else "main_lens_mass"
