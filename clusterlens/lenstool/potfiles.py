"""``potfile`` blocks -> ``scaling_relations.csv`` tiers and their ``scaling_galaxies.csv`` members.

Each potfile is one tier, named after its member catalogue's file name without extension (made
unique, with a warning). mag0 -> mag_ref, sigma -> sigma_ref, core/corekpc -> r_core_ref, cut/cutkpc
-> r_cut_ref (arcsec wins over kpc, as in Lenstool), sigma_slope = 1/vdslope, r_cut_slope =
2/slope, r_core_slope = 1/2; a free ``flag v1 v2`` is a prior (:mod:`.reading`). The catalogue rows
are the members, with q = b/a and angle = theta of the catalogue (Lenstool makes each member a
profile-81 clump with emass = (a^2 - b^2)/(a^2 + b^2), i.e. exactly this b/a, at position angle
theta), mag = the 7th column and redshift = the potfile's ``zlens``.
"""
from __future__ import annotations

from .catalogues import Catalogue, read_catalogue
from .keywords import POTFILE_KEYWORDS, POTFILE_PRIORS
from .parfile import Block, LenstoolError
from .potentials import profile_reading
from .reading import ParReader


def read_potfile(reader: ParReader, block: Block, taken: set[str]):
    """A ``potfile`` block -> (its scaling_relations row, its members), or None without a catalogue;
    its priors go to ``reader``."""
    for entry in block.entries:
        if entry.keyword not in POTFILE_KEYWORDS and not entry.keyword.startswith(("vdscat", "rcutscat")):
            reader.warn(f"line {entry.line}: unknown keyword '{entry.keyword}' in '{block.name}': ignored")
    filein = block.last("filein")
    if filein is None:
        return None  # Lenstool: a potfile without a catalogue only sets mag0
    ftype = filein.integer(0, "the catalogue type", reader.path)
    if ftype not in (1, 3):
        raise LenstoolError(f"{reader.where(filein.line)}: potfile catalogue type {ftype} is not supported: "
                            "expected 1 or 3 (id x y a b theta mag lum)")
    catalogue_path = reader.path.parent / filein.word(1, "the catalogue file", reader.path)
    where = f"{reader.where(block.line)}: {block.name}"

    def value(*keys, index=0, required=True):
        entry = block.last(*keys)
        if entry is None:
            if required:
                raise LenstoolError(f"{where} needs '{keys[0]}'")
            return None, None
        return entry.number(index, "value", reader.path), entry

    kind, _ = value("type")
    if int(kind) != 81:
        raise LenstoolError(f"{where}: potfile profile type {int(kind)} is not supported: expected 81 (dPIE)")
    z, _ = value("zlens", "z_lens")
    if z <= 0:
        raise LenstoolError(f"{where}: zlens must be > 0 (Lenstool stops too)")
    d1 = reader.kpc_per_arcsec(z)
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
        reader.warn(f"line {block.line}: a tier named {tier!r} exists already: this one is named "
                    f"{tier}_{number!r}")
        tier = f"{tier}_{number}"

    def triple(entry):  # "flag value1 value2"; value2 may be left out when the flag is 0 (fixed)
        flag = entry.integer(0, "the prior flag", reader.path)
        second = entry.number(2, "the second value", reader.path) if flag or len(entry.values) > 2 else 0.0
        return flag, entry.number(1, "the value", reader.path), second

    kpc = 1.0 / d1 if cut_entry.keyword == "cutkpc" else 1.0
    flag, s1, s2 = triple(sigma_entry)
    if flag:
        reader.add_prior("scaling_relations", tier, POTFILE_PRIORS["sigma"], flag, s1, s2, sigma_entry)
    cflag, c1, c2 = triple(cut_entry)
    if cflag:  # both values are lengths (bounds, or mean and sigma): the same kpc -> arcsec factor
        reader.add_prior("scaling_relations", tier, POTFILE_PRIORS["cut"], cflag, c1 * kpc, c2 * kpc, cut_entry)
    lflag, l1, l2 = triple(slope_entry)
    if lflag:
        reader.add_transformed_prior("scaling_relations", tier, POTFILE_PRIORS["slope"], lflag, l1, l2, slope_entry,
                                     lambda s: 2.0 / s, lambda s: -2.0 / (s * s))
    vflag, v1, v2 = triple(vdslope_entry)
    if vflag:
        reader.add_transformed_prior("scaling_relations", tier, POTFILE_PRIORS["vdslope"], vflag, v1, v2, vdslope_entry,
                                     lambda s: 1.0 / s, lambda s: -1.0 / (s * s))
    for name in ("vdscatter", "rcutscatter"):
        entry = block.last(name)
        if entry is not None and entry.integer(0, "the flag", reader.path) != 0:
            reader.warn(f"line {entry.line}: '{name}' (random scatter about the scaling relation) is not "
                        "supported: ignored")
    if corekpc_entry is not None and core is not None:
        reader.warn(f"line {corekpc_entry.line}: both 'core' and 'corekpc' given: 'core' is used, as in Lenstool")
    relation = {"tier": tier, "profile": profile_reading(81, {}).name, "mag_ref": mag0, "sigma_ref": s1,
                "r_core_ref": r_core, "r_cut_ref": c1 * kpc, "sigma_slope": 1.0 / v1, "r_core_slope": 0.5,
                "r_cut_slope": 2.0 / l1}
    catalogue = read_catalogue(catalogue_path, "potfile catalogue")
    return relation, tier_members(reader, catalogue, tier, z, ftype)


def tier_members(reader: ParReader, catalogue: Catalogue, tier: str, z: float, ftype: int) -> list[dict]:
    """The member rows of a potfile catalogue: q = b/a, angle = theta, mag = column 7, redshift = zlens."""
    x, y = catalogue.relative_to(reader.reference.ra, reader.reference.dec, no_header_is_relative=(ftype == 1))
    rows = []
    for k, name in enumerate(catalogue.ids):
        a, b = catalogue.a[k], catalogue.b[k]
        where = f"{catalogue.path}:{catalogue.lines[k]}"
        if a < b or b < 0:
            raise LenstoolError(f"{where}: member {name!r} has a = {a!r} < b = {b!r}: expected a >= b >= 0 "
                                "(Lenstool stops on a negative ellipticity)")
        if b == 0 and a > 0:
            raise LenstoolError(f"{where}: member {name!r} has b = 0: expected b > 0")
        q = 1.0 if a == 0 else float(b / a)
        rows.append({"galaxy": name, "tier": tier, "x": float(x[k]), "y": float(y[k]),
                     "mag": float(catalogue.col7[k]), "q": q, "angle": float(catalogue.theta[k]), "redshift": z})
    return rows
