"""Configuration: YAML presets (config/*.yaml) checked against typed sections.

``load_config(preset, overrides)`` gives a frozen ``Config``; modules read their section
(``cfg.training.batch_size``); ``with_overrides`` makes a changed, checked copy.
"""
from seg_by_interaction.config.presets import (ConfigError, config_dir, expand_dotted,
                                               find_config_dir, load_config, load_preset_data,
                                               parse_override, preset_overrides, preset_path,
                                               validate, with_overrides)
from seg_by_interaction.config.schema import Config, Section, plain

__all__ = ["Config", "ConfigError", "Section", "config_dir", "expand_dotted", "find_config_dir",
           "load_config", "load_preset_data", "parse_override", "plain", "preset_overrides",
           "preset_path", "validate", "with_overrides"]
