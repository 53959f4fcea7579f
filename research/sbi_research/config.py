"""The research package's configuration: the product's preset plus the study's and the
ablations' sections and the rearrangement harness's keys, all from ``research.yaml`` (the
product never reads them).

``ResearchConfig`` extends the product's typed ``Config``: the same strict checks (unknown
keys, wrong types and out-of-range values are errors naming the key). The overrides a
budget or a variant carries name product keys and are checked when they are applied.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Union

import yaml

from seg_by_interaction.config import ConfigError, expand_dotted, load_preset_data, preset_path, validate
from seg_by_interaction.config.presets import _deep_merge
from seg_by_interaction.config.schema import (Config, Count, CountRange, NonNeg, NonNegInt,
                                              Rearrangement, Section, Split, Unit)

RESEARCH_YAML = Path(__file__).with_name("research.yaml")


class StudyBudget(Section):
    seeds: Count
    interactions: Count
    eval_backgrounds: Optional[Count]                    # null: every test background
    eval_per_background: Count
    general_backgrounds: Count
    general_per_background: Count
    curve_checkpoints: Count
    gt_scenes: NonNegInt
    human_scenes: NonNegInt
    overrides: dict[str, Any] = {}                       # product keys, dotted


class Study(Section):
    eval_seed: int
    human_fraction: Unit
    gt_negatives_per_view: NonNegInt
    gt_scenes_per_background: Count
    budgets: dict[str, StudyBudget]


class AblationVariant(Section):
    overrides: dict[str, Any] = {}                       # product keys, dotted
    mode: Literal["rsl", "ce"] = "rsl"
    oracle_labels: Union[bool, Literal["lifted", "moved"]] = False
    passive_only: bool = False
    gt_supervised: bool = False
    reference: str = "baseline"


class Ablation(Section):
    interactions: Count
    seeds: Count
    eval_split: Split
    eval_seed: int
    eval_per_background: Count
    curve_checkpoints: Count
    gt_scenes: NonNegInt
    out_of_arena: bool
    variants: dict[str, AblationVariant]


class NoSegmentationBaseline(Section):
    min_pixels: NonNegInt                                # changed regions smaller are noise


class RearrangementEpisodes(Section):
    episodes: Count
    seed: int
    split: Split
    camera: Union[Literal["random"], NonNegInt]
    objects_per_scene: CountRange
    displaced: CountRange
    place_margin: NonNeg
    clearance: NonNeg
    min_displacement: NonNeg
    candidates: Count
    dpi: Count


class RearrangementResearch(Rearrangement):
    """The product's rearrangement section plus the harness's keys."""
    baseline: NoSegmentationBaseline
    evaluation: RearrangementEpisodes


class ResearchConfig(Config):
    study: Study
    ablation: Ablation
    rearrangement: RearrangementResearch


def load_config(preset: str = "default", overrides: Mapping[str, Any] | None = None) -> ResearchConfig:
    """The product's configuration of ``preset`` with research.yaml's sections added, and
    ``overrides`` (dotted or nested, product or research keys) applied; checked."""
    data = _deep_merge(load_preset_data(preset_path(preset)), yaml.safe_load(RESEARCH_YAML.read_text()),
                       strict=False)
    if overrides:
        data = _deep_merge(data, expand_dotted(overrides), strict=True)
    return validate(data, where=f"preset {data['preset']} + {RESEARCH_YAML.name}"
                    + (" with overrides" if overrides else ""), model=ResearchConfig)


__all__ = ["ConfigError", "ResearchConfig", "load_config"]
