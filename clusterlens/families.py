"""The family registry: which file holds which row type, its key columns and its column order."""
from __future__ import annotations

import typing
from dataclasses import dataclass
from functools import cached_property

from pydantic import BaseModel, TypeAdapter

from . import rows


@dataclass(frozen=True)
class Family:
    """One CSV family: ``<name>.csv`` holding rows of ``row_type`` (a :class:`~clusterlens.columns.Row`
    class or a discriminated union of them, :func:`typing.Annotated` on ``profile``)."""

    name: str
    row_type: typing.Any  # a type form (class or Annotated union): no static type names both
    key: tuple[str, ...]
    description: str

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @cached_property
    def adapter(self) -> TypeAdapter:
        return TypeAdapter(self.row_type)

    @cached_property
    def variants(self) -> dict[str | None, type[BaseModel]]:
        """Row classes by profile name (``None`` for families without a ``profile`` column)."""
        if isinstance(self.row_type, type) and issubclass(self.row_type, BaseModel):
            return {None: self.row_type}
        union = typing.get_args(self.row_type)[0]
        return {typing.get_args(cls.model_fields["profile"].annotation)[0]: cls for cls in typing.get_args(union)}

    @property
    def profiles(self) -> list[str]:
        return [p for p in self.variants if p is not None]

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """Every column of the family in canonical order (first appearance over the variants)."""
        seen: dict[str, None] = {}
        for cls in self.variants.values():
            for name in cls.model_fields:
                seen.setdefault(name, None)
        return tuple(seen)

    @cached_property
    def always_required(self) -> tuple[str, ...]:
        """Columns every variant requires (a file without them is missing a required column)."""
        required = [
            {n for n, f in cls.model_fields.items() if f.is_required()} for cls in self.variants.values()
        ]
        common = set.intersection(*required)
        return tuple(c for c in self.columns if c in common)

    def unit(self, column: str) -> str:
        for cls in self.variants.values():
            field = cls.model_fields.get(column)
            if field is not None and isinstance(field.json_schema_extra, dict):
                return str(field.json_schema_extra.get("unit", ""))
            if field is not None:
                for meta in field.metadata:
                    extra = getattr(meta, "json_schema_extra", None)
                    if isinstance(extra, dict):
                        return str(extra.get("unit", ""))
        return ""

    def numeric_columns(self, profile: str | None = None) -> tuple[str, ...]:
        """Float-valued columns (those a prior may promote), for one profile or for any."""
        classes = [self.variants[profile]] if profile in self.variants else self.variants.values()
        names: dict[str, None] = {}
        for cls in classes:
            for name, field in cls.model_fields.items():
                if float in _leaf_types(field.annotation):
                    names.setdefault(name, None)
        return tuple(names)


def _leaf_types(annotation) -> set:
    args = typing.get_args(annotation)
    if not args:
        return {annotation}
    if typing.get_origin(annotation) is typing.Annotated:
        return _leaf_types(args[0])
    out = set()
    for arg in args:
        out |= _leaf_types(arg)
    return out


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("host_halo", rows.LensMassRow, ("galaxy",), "cluster-scale dark-matter halo(s)"),
        Family("main_lens_mass", rows.LensMassRow, ("galaxy",), "individually modelled lens galaxies and shear"),
        Family("main_lens_light", rows.SourceLightRow, ("galaxy",),
               "light of main lens galaxies (joined by galaxy to main_lens_mass)"),
        Family("scaling_relations", rows.ScalingRelation, ("tier",), "member tiers' scaling relations"),
        Family("scaling_galaxies", rows.ScalingGalaxy, ("galaxy",), "member galaxies following a scaling relation"),
        Family("source_light", rows.SourceLightRow, ("galaxy",), "extended source light"),
        Family("source_point", rows.SourcePoint, ("galaxy", "name"), "point sources"),
        Family("point_datasets", rows.PointImage, ("name", "image"), "observed multiple images"),
        Family("priors", rows.Prior, ("family", "galaxy", "parameter"), "free parameters of a fit"),
    )
}

#: The families whose rows are registered mass profiles (:class:`~clusterlens.rows.MassRow`).
MASS_FAMILIES = ("host_halo", "main_lens_mass")
#: The families of the lens and of the sources: every row names its galaxy (:class:`~clusterlens.rows.GalaxyRow`).
LENS_FAMILIES = (*MASS_FAMILIES, "scaling_galaxies", "main_lens_light")
SOURCE_FAMILIES = ("source_light", "source_point")
