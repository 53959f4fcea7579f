"""The research package's configuration: the product's preset plus the study's and the
ablations' sections from ``research.yaml`` (the product never reads them).

Both sections are checked by typed models (unknown keys, wrong types and out-of-range
values are errors naming the key); the overrides a budget or a variant carries name product
keys and are checked when they are applied, against the product's configuration.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seg_by_interaction.config import ConfigError, _deep_merge, expand_dotted
from seg_by_interaction.config import load_config as load_product_config

RESEARCH_YAML = Path(__file__).with_name("research.yaml")
SECTIONS = ("study", "ablation", "rearrangement")

Count = Field(ge=1)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class StudyBudget(_Strict):
    seeds: int = Count
    interactions: int = Count
    eval_backgrounds: Optional[int] = Field(ge=1)     # null: every test background
    eval_per_background: int = Count
    general_backgrounds: int = Count
    general_per_background: int = Count
    curve_checkpoints: int = Count
    gt_scenes: int = Field(ge=0)
    human_scenes: int = Field(ge=0)
    overrides: dict[str, Any] = {}                       # product keys, dotted


class Study(_Strict):
    eval_seed: int
    human_fraction: float = Field(ge=0, le=1, strict=False)
    gt_negatives_per_view: int = Field(ge=0)
    gt_scenes_per_background: int = Count
    budgets: dict[str, StudyBudget]


class AblationVariant(_Strict):
    overrides: dict[str, Any] = {}                       # product keys, dotted
    mode: Literal["rsl", "ce"] = "rsl"
    oracle_labels: Union[bool, Literal["lifted", "moved"]] = False
    passive_only: bool = False
    gt_supervised: bool = False
    reference: str = "baseline"


class Ablation(_Strict):
    interactions: int = Count
    seeds: int = Count
    eval_split: Literal["train", "val", "test"]
    eval_seed: int
    eval_per_background: int = Count
    curve_checkpoints: int = Count
    gt_scenes: int = Field(ge=0)
    out_of_arena: bool
    variants: dict[str, AblationVariant]


class NoSegmentationBaseline(_Strict):
    min_pixels: int = Field(ge=0)                        # changed regions smaller are noise


class RearrangementEpisodes(_Strict):
    episodes: int = Count
    seed: int
    split: Literal["train", "val", "test"]
    camera: Union[Literal["random"], int]
    objects_per_scene: tuple[int, int] = Field(strict=False)
    displaced: tuple[int, int] = Field(strict=False)
    place_margin: float = Field(ge=0, strict=False)
    clearance: float = Field(ge=0, strict=False)
    min_displacement: float = Field(ge=0, strict=False)
    candidates: int = Count
    dpi: int = Count


class RearrangementResearch(_Strict):
    """Added to the product's ``rearrangement`` section."""
    baseline: NoSegmentationBaseline
    evaluation: RearrangementEpisodes


class ResearchSections(_Strict):
    study: Study
    ablation: Ablation
    rearrangement: RearrangementResearch


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


def research_sections(overrides: Mapping[str, Any] | None = None) -> dict:
    """research.yaml's sections with ``overrides`` (dotted or nested) applied, checked, as
    plain data (the variants' optional fields filled in with their defaults)."""
    raw = yaml.safe_load(RESEARCH_YAML.read_text())
    if overrides:
        raw = _deep_merge(raw, expand_dotted(overrides), strict=True)
    try:
        return ResearchSections.model_validate(raw).model_dump()
    except ValidationError as exc:
        raise ConfigError(f"{RESEARCH_YAML.name}: invalid values: {_problems(exc)}") from None


def load_config(preset: str = "default", overrides: Mapping[str, Any] | None = None) -> dict:
    """The product's configuration of ``preset`` with the research sections added (study,
    ablation, and the rearrangement harness's keys inside the product's rearrangement
    section); an override goes to whichever of the two holds its key."""
    nested = expand_dotted(overrides or {})
    raw = yaml.safe_load(RESEARCH_YAML.read_text())
    research: dict = {}
    for section, keys in raw.items():
        if section in nested:
            mine = {k: v for k, v in nested[section].items() if section != "rearrangement" or k in keys}
            research[section] = mine
            rest = {k: v for k, v in nested[section].items() if k not in mine}
            if rest:
                nested[section] = rest
            else:
                del nested[section]
    cfg = load_product_config(preset, nested or None)
    sections = research_sections(research)
    cfg["rearrangement"] = {**cfg["rearrangement"], **sections.pop("rearrangement")}
    cfg.update(sections)
    return cfg
