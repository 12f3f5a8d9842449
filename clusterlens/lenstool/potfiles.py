"""``potfile`` blocks -> ``scaling_relations.csv`` tiers and their ``scaling_galaxies.csv`` members.

Each potfile is one tier, named after its member catalogue's file name without extension (made
unique, with a warning). mag0 -> mag_ref, sigma -> sigma_ref, core/corekpc -> r_core_ref, cut/cutkpc
-> r_cut_ref (the arcsec keyword wins over the kpc one, as in Lenstool's setScalingRelations),
sigma_slope = 1/vdslope, r_cut_slope = 2/slope, r_core_slope = 1/2.

Lenstool reads ``sigma``, ``core``, ``corekpc``, ``cut``, ``cutkpc``, ``slope`` and ``vdslope`` as
``flag value1 value2`` with C's ``sscanf("%d%lf%lf")`` (:func:`scan_flag_values`): the flag is the
integer prefix of the text, so ``corekpc 0.15`` is flag 0 and value .15, but ``corekpc 150.0`` is flag
150 and value .0 = 0 (this is how the Abell 2744 CATS best.par has core 0 for its group-scale
tiers). Flag 1 is a uniform prior on [value1, value2], 3 a normal prior (mean value1, sigma value2),
0 a fixed value; another flag keeps value1 fixed, with a warning (:mod:`.reading`). Left out,
``mag0`` is 17 and ``slope``, ``vdslope`` are 4 (Lenstool's defaults, with a warning).

The catalogue rows are the members, with q = b/a and angle = theta of the catalogue (Lenstool makes
each member a profile-81 clump with emass = (a^2 - b^2)/(a^2 + b^2), i.e. exactly this b/a, at
position angle theta), mag = the 7th column and redshift = the potfile's ``zlens``. Lenstool keeps
every catalogue row, so a repeated id (or one naming another lens) is renamed ``id_2``, ... with one
warning per catalogue.
"""
from __future__ import annotations

import re

from .catalogues import Catalogue, catalogue_in_par_folder, read_catalogue
from .keywords import POTFILE_KEYWORDS
from .parfile import Block, Entry, LenstoolError
from .potentials import profile_for
from .reading import ParReader

_INT = re.compile(r"\s*([+-]?\d+)")
_FLOAT = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")

#: Lenstool's value of a potfile parameter left out (set_default), where it has one.
DEFAULTS = {"mag0": 17.0, "slope": 4.0, "vdslope": 4.0}


def scan_flag_values(entry: Entry, path) -> tuple[int, float | None, float | None]:
    """(flag, value1, value2) of ``entry`` read as C's ``sscanf(text, "%d%lf%lf")`` reads its text:
    the integer prefix, then up to two numbers, each starting where the previous one stopped
    (None where the text ends first)."""
    text = " ".join(entry.values)
    match = _INT.match(text)
    if match is None:
        raise LenstoolError(f"{path}:{entry.line}: '{entry.keyword}' needs 'flag value1 value2' (an integer "
                            f"flag first), got {text!r}")
    flag, position = int(match.group(1)), match.end()
    values: list[float | None] = []
    for _ in range(2):
        match = _FLOAT.match(text, position)
        if match is None:
            break
        values.append(float(match.group(1)))
        position = match.end()
    values += [None] * (2 - len(values))
    return flag, values[0], values[1]


def read_potfile(reader: ParReader, block: Block, taken: set[str]):
    """A ``potfile`` block -> (its scaling_relations row, its members), or None without a catalogue;
    its priors go to ``reader``. ``taken``: tier names used so far."""
    found = potfile_relation(reader, block, taken)
    if found is None:
        return None
    relation, catalogue_path, ftype = found
    catalogue = read_catalogue(catalogue_path, "potfile catalogue")
    reader.note_digits(catalogue.digits)
    return relation, tier_members(reader, catalogue, relation["tier"], relation["_z"], ftype)


def potfile_relation(reader: ParReader, block: Block, taken: set[str]):
    """(scaling_relations row with the members' redshift as ``_z``, catalogue path, catalogue type) of a
    ``potfile`` block, or None without a catalogue; its priors go to ``reader``."""
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
    catalogue_path = catalogue_in_par_folder(reader.path, filein.word(1, "the catalogue file", reader.path),
                                             reader.where(filein.line))
    where = f"{reader.where(block.line)}: {block.name}"
    kind = block.last("type")
    if kind is None or kind.integer(0, "the profile type", reader.path) != 81:
        found = "none" if kind is None else kind.integer(0, "the profile type", reader.path)
        raise LenstoolError(f"{where}: potfile profile type {found} is not supported: expected 'type 81' (dPIE)")
    z_entry = block.last("zlens", "z_lens")
    z = 0.0 if z_entry is None else z_entry.number(0, "value", reader.path)
    if z <= 0:
        raise LenstoolError(f"{where}: zlens must be > 0 (Lenstool stops too)")
    tier = _tier_name(reader, block, catalogue_path.stem, taken)
    parameters = _Parameters(reader, block, tier, reader.kpc_per_arcsec(z))
    mag0_entry = block.last("mag0", "r200")
    if mag0_entry is None:
        reader.warn(f"line {block.line}: {block.name} has no 'mag0': Lenstool's default {DEFAULTS['mag0']!r} is used")
    mag0 = DEFAULTS["mag0"] if mag0_entry is None else mag0_entry.number(0, "value", reader.path)
    relation = {"tier": tier, "profile": profile_for(81, {}, reader.where(block.line)).name, "mag_ref": mag0,
                "sigma_ref": parameters.value("sigma_ref", ("sigma",)),
                "r_core_ref": parameters.value("r_core_ref", ("core",), ("corekpc",)),
                "r_cut_ref": parameters.value("r_cut_ref", ("cut",), ("cutkpc",)),
                "sigma_slope": 1.0 / parameters.value("sigma_slope", ("vdslope", "c200slope"), inverse=1.0),
                "r_core_slope": 0.5,
                "r_cut_slope": 2.0 / parameters.value("r_cut_slope", ("slope", "m200slope"), inverse=2.0)}
    for name in ("vdscatter", "rcutscatter"):
        scatter = block.last(name)
        if scatter is not None and scatter.integer(0, "the flag", reader.path) != 0:
            reader.warn(f"line {scatter.line}: '{name}' (random scatter about the scaling relation) is not "
                        "supported: ignored")
    return {**relation, "_z": z}, catalogue_path, ftype


def _tier_name(reader: ParReader, block: Block, tier: str, taken: set[str]) -> str:
    if tier not in taken:
        return tier
    number = 2
    while f"{tier}_{number}" in taken:
        number += 1
    reader.warn(f"line {block.line}: a tier named {tier!r} exists already: this one is named {tier}_{number!r}")
    return f"{tier}_{number}"


class _Parameters:
    """The ``flag value1 value2`` parameters of one potfile block (module docstring)."""

    def __init__(self, reader: ParReader, block: Block, tier: str, kpc_per_arcsec: float):
        self.reader, self.block, self.tier, self.kpc_per_arcsec = reader, block, tier, kpc_per_arcsec
        self.where = f"{reader.where(block.line)}: {block.name}"

    def value(self, column: str, arcsec: tuple[str, ...], kpc: tuple[str, ...] = (), inverse: float | None = None):
        """The column's value [arcsec for lengths] from the arcsec keywords, else the kpc ones (else
        Lenstool's default), and its prior; ``inverse``: the column is inverse / value (a slope)."""
        reader, block = self.reader, self.block
        entry, scale = block.last(*arcsec), 1.0
        kpc_entry = block.last(*kpc) if kpc else None
        flag, v1, v2 = scan_flag_values(entry, reader.path) if entry is not None else (0, None, None)
        if v1 is None and kpc_entry is not None:
            entry, scale = kpc_entry, 1.0 / self.kpc_per_arcsec
            flag, v1, v2 = scan_flag_values(kpc_entry, reader.path)
        if entry is None or v1 is None:
            if entry is None and arcsec[0] in DEFAULTS:
                reader.warn(f"line {block.line}: {block.name} has no '{arcsec[0]}': Lenstool's default "
                            f"{DEFAULTS[arcsec[0]]!r} is used")
                return DEFAULTS[arcsec[0]]
            names = "' or '".join(arcsec + kpc)
            raise LenstoolError(f"{self.where} needs '{names}' with a value: Lenstool reads 'flag value1 value2' "
                                f"(found {'nothing' if entry is None else repr(' '.join(entry.values))})")
        if kpc_entry is not None and entry is not kpc_entry:
            reader.warn(f"line {kpc_entry.line}: both '{entry.keyword}' and '{kpc_entry.keyword}' given: "
                        f"'{entry.keyword}' is used, as in Lenstool")
        if flag in (1, 3):
            if v2 is None:
                raise LenstoolError(f"{reader.where(entry.line)}: '{entry.keyword}' flag {flag} needs two values "
                                    f"(got {' '.join(entry.values)!r})")
            if inverse is None:
                reader.add_prior("scaling_relations", self.tier, column, flag, v1 * scale, v2 * scale, entry)
            else:
                reader.add_transformed_prior("scaling_relations", self.tier, column, flag, v1, v2, entry,
                                             lambda s: inverse / s, lambda s: -inverse / (s * s))
        elif flag != 0:
            reader.warn(f"line {entry.line}: Lenstool reads '{entry.keyword} {' '.join(entry.values)}' as 'flag "
                        f"value1 value2' (C %d%lf%lf): flag {flag}, value {v1!r}; flag {flag} is not 1 or 3 (a "
                        f"prior), so {entry.keyword} = {v1!r} is fixed")
        return v1 * scale


def tier_members(reader: ParReader, catalogue: Catalogue, tier: str, z: float, ftype: int) -> list[dict]:
    """The member rows of a potfile catalogue: q = b/a, angle = theta, mag = column 7, redshift = zlens;
    ``_line`` is the row's catalogue line (for :func:`make_member_names_unique`)."""
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
                     "mag": float(catalogue.col7[k]), "q": q, "angle": float(catalogue.theta[k]), "redshift": z,
                     "_line": f"{catalogue.path.name}:{catalogue.lines[k]}"})
    return rows


def make_member_names_unique(reader: ParReader, members: list[dict], taken: set[str]) -> None:
    """Rename members whose id is in ``taken`` (the potentials' names) or repeats an earlier member's:
    ``id`` -> ``id_2``, ``id_3``, ..., with one warning per catalogue (Lenstool keeps every row)."""
    taken = set(taken)
    renamed: dict[str, list[str]] = {}
    for member in members:
        line = member.pop("_line")
        name = galaxy = member["galaxy"]
        number = 2
        while galaxy in taken:
            galaxy = f"{name}_{number}"
            number += 1
        if galaxy != name:
            renamed.setdefault(member["tier"], []).append(f"{name} ({line}) -> {galaxy}")
            member["galaxy"] = galaxy
        taken.add(galaxy)
    for tier, changes in renamed.items():
        reader.warn(f"tier {tier!r}: {len(changes)} member id(s) repeat a lens name; Lenstool keeps every row, so "
                    f"they are renamed: {', '.join(changes)}")
