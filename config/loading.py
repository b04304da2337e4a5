"""Load the configuration from its sources, and turn every problem into one readable error.

Errors name the path of the offending key (`x.reply_setings: unknown key; did you mean
'reply_settings'?`) and never echo a value, so a secret typed into the wrong place cannot leak
into a terminal, a log or a bug report.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    TomlConfigSettingsSource,
)

from config.schools import (
    CONFIG_ROOT,
    SCHOOL_ENVIRONMENT,
    SchoolInstance,
    SchoolNameError,
    school_name_problem,
)
from config.settings import SECRET_FIELDS, StewardSettings

DEFAULT_CONFIG_FILE = Path("/etc/steward/steward.toml")
CONFIG_FILE_ENVIRONMENT = "STEWARD_CONFIG_FILE"  # another default file, e.g. for a test
_config_file: ContextVar[Path | None] = ContextVar("steward_config_file", default=None)


class ConfigurationError(Exception):
    """The configuration cannot be used; the message lists every problem, one per line."""


class CredentialsDirectorySource(PydanticBaseSettingsSource):
    """Secrets from systemd's credentials directory: one file per secret, named by its path.

    `LoadCredentialEncrypted=x.consumer_secret:/etc/steward/x.consumer_secret.cred` makes
    `$CREDENTIALS_DIRECTORY/x.consumer_secret`, which becomes `x.consumer_secret`.
    """

    def get_field_value(  # pragma: no cover - required by the ABC
        self, field: FieldInfo, field_name: str
    ) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            return {}
        found: dict[str, Any] = {}
        for dotted in sorted(SECRET_FIELDS):
            candidate = Path(directory) / dotted
            if candidate.is_file():
                section, name = dotted.split(".", 1)
                found.setdefault(section, {})[name] = candidate.read_text(encoding="utf-8").strip()
        return found


class _Sourced(StewardSettings):
    """StewardSettings with Steward's source order; the file comes from `_config_file`."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if isinstance(env_settings, EnvSettingsSource):
            # STEWARD_SCHOOL selects a trust's school (config.schools); it is not the
            # [school] section, which pydantic would otherwise try to read it as.
            env_settings.env_vars = {
                key: value for key, value in env_settings.env_vars.items()
                if key.lower() != SCHOOL_ENVIRONMENT.lower()}
        sources: list[PydanticBaseSettingsSource] = [
            init_settings, env_settings, CredentialsDirectorySource(settings_cls)]
        path = _config_file.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def load_settings(path: str | Path | None = None, **overrides: Any) -> StewardSettings:
    """Load the configuration from `path` (or the default file, if it exists) and the rest.

    An explicitly given file must exist; the default one may be absent, and then Steward runs on
    its defaults (the sandbox). Raise ConfigurationError with every problem found.
    """
    if path is None:
        default = default_config_file()
        if config_unreadable(default):
            raise ConfigurationError(unreadable_message(default))
        path = default if default.is_file() else None
        if path is None and os.environ.get(SCHOOL_ENVIRONMENT) \
                and not os.environ.get(CONFIG_FILE_ENVIRONMENT):
            raise ConfigurationError(
                f"{default}: there is no configuration for the school "
                f"{os.environ[SCHOOL_ENVIRONMENT]}: check the name (`steward trust status` "
                "lists the trust's schools), or set the school up as docs/administrator.md "
                "says (\"A trust of schools\")")
        if path is None and not os.environ.get(SCHOOL_ENVIRONMENT) \
                and not os.environ.get(CONFIG_FILE_ENVIRONMENT):
            schools = trust_schools()
            if schools:
                raise ConfigurationError(
                    f"{default}: there is none, and this machine serves a trust of schools "
                    f"({', '.join(schools)}): say which school, e.g. `steward --school "
                    f"{schools[0]} ...` (or set STEWARD_SCHOOL)")
    elif config_unreadable(Path(path)):
        raise ConfigurationError(unreadable_message(Path(path)))
    elif not Path(path).is_file():
        raise ConfigurationError(f"{path}: configuration file not found")
    if path is not None:
        try:
            tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigurationError(f"{path}: not valid TOML ({error})") from None
        except PermissionError:
            raise ConfigurationError(unreadable_message(Path(path))) from None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigurationError(f"{path}: cannot be read ({error.__class__.__name__})") \
                from None
    token = _config_file.set(Path(path) if path is not None else None)
    try:
        settings = _Sourced(**overrides)
    except ValidationError as error:
        where = f"{path}: " if path is not None else ""
        raise ConfigurationError(where + "invalid configuration\n" + describe(error)) from None
    finally:
        _config_file.reset(token)
    return settings


def config_file_read(path: str | Path | None = None) -> Path | None:
    """The file `load_settings(path)` reads: `path`, else the default file if there is one;
    None when Steward runs on its defaults alone. For saying which file was checked."""
    if path is not None:
        return Path(path)
    default = default_config_file()
    return default if default.is_file() else None


def default_config_file() -> Path:
    """The file read when no --config is given: $STEWARD_CONFIG_FILE, else the selected
    school's /etc/steward/NAME/steward.toml (`steward --school NAME`), else
    /etc/steward/steward.toml."""
    given = os.environ.get(CONFIG_FILE_ENVIRONMENT)
    if given:
        return Path(given)
    try:
        return SchoolInstance.selected().config_file
    except SchoolNameError as error:
        raise ConfigurationError(str(error)) from None


def trust_schools() -> list[str]:
    """The schools of a trust installed on this machine (folders /etc/steward/NAME holding a
    steward.toml), for saying which to choose; [] on a single-school machine."""
    try:
        folders = sorted(CONFIG_ROOT.iterdir())
    except OSError:
        return []
    return [folder.name for folder in folders if school_name_problem(folder.name) is None
            and _holds_a_configuration(folder)]


def _holds_a_configuration(folder: Path) -> bool:
    """Whether `folder` holds a steward.toml; a school's folder closed to this user (0750,
    as every school's is to another school's SLT) counts too: it is a school all the same,
    and looking inside must not end the command with "permission denied"."""
    try:
        return (folder / "steward.toml").exists()
    except PermissionError:
        return True
    except OSError:
        return False


def config_unreadable(path: Path) -> bool:
    """Whether `path` exists (or may: a folder on the way is closed) but this user may not
    read it."""
    try:
        with open(path, "rb"):
            return False
    except PermissionError:
        return True
    except OSError:
        return False


def unreadable_message(path: Path) -> str:
    """What to tell someone who may not read the configuration file: which file, as which
    user, and what to do instead."""
    import pwd  # noqa: PLC0415

    try:
        user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        user = f"user {os.geteuid()}"
    return (f"{path}: {user} may not read it (it holds the service's secrets, so only root "
            "and the service's group may). SLT members do not need it: run `steward check`, "
            "`sign`, `submit` and `status` without --config and they read "
            "/srv/steward/slt-settings.toml, which the daemon writes for them. An "
            "administrator runs the command as the service instead: sudo steward admin "
            "COMMAND ...")


def describe(error: ValidationError) -> str:
    """Return one line per problem: the dotted path, and what is wrong (never the value)."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        if problem["type"] == "extra_forbidden":
            lines.append(f"  {location}: unknown key{_suggestion(problem['loc'])}")
        else:
            message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"  {location}: {message}")
    return "\n".join(lines)


def _suggestion(location: tuple[int | str, ...]) -> str:
    """Suggest the known key closest to a misspelt one."""
    model: type[BaseModel] = StewardSettings
    for part in location[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        inner = getattr(annotation, "__args__", (annotation,))
        inner_model = next((kind for kind in inner if isinstance(kind, type)
                            and issubclass(kind, BaseModel)), None)
        if inner_model is None:
            return ""
        model = inner_model
    close = difflib.get_close_matches(str(location[-1]), list(model.model_fields), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""
