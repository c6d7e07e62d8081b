"""Configuration: the schema, embedded defaults, and loading a YAML file into validated,
immutable objects (a bad file is refused with its line and the reason)."""

from trunkline.config.load import ConfigError, load_config
from trunkline.config.schema import Config

__all__ = ["Config", "ConfigError", "load_config"]
