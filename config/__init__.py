"""Steward's configuration: pydantic-settings models, loading, and the generated example.

`config.settings` is the single source of truth: validation, `steward config show`, the
committed `config/example.toml` and the documentation of every option are derived from it.
"""

from config.loading import ConfigurationError, load_settings
from config.settings import StewardSettings

__all__ = ["ConfigurationError", "StewardSettings", "load_settings"]
