"""The privacy settings Steward keeps an eye on, as a table: one small description per setting
(platform, key, desired value, the clause, how a person changes it). Supporting a new setting is
one entry. `drift` compares what was observed with the table. No platform lets an app change
these settings (X has no settings endpoint on any plan), so a drift is a checklist item for a
person, never a repair."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class SettingDescription:
    platform: str
    key: str
    desired: object
    clause: str  # the default clause; the school's catalogue may map `rule` to its own
    label: str
    how_to_change: str

    @property
    def rule(self) -> str:
        """This setting's rule id in the clause catalogue: `settings-x-geo-enabled`."""
        return f"settings-{self.platform}-{self.key.replace('_', '-')}"


SETTINGS = (
    SettingDescription("x", "protected", True, "st-marys.verified-followers",
                       "protected account (only approved followers see posts)",
                       "X: Settings and privacy > Privacy and safety > Audience and tagging > "
                       "Protect your posts"),
    SettingDescription("x", "geo_enabled", False, "st-marys.no-geolocation",
                       "location added to posts",
                       "X: Settings and privacy > Privacy and safety > Location information > "
                       "turn off 'Add location information to your posts'"),
    SettingDescription("x", "allow_dms_from", "following", "wightwick.messaging-off",
                       "who can send direct messages (the narrowest the API allows)",
                       "X: Settings and privacy > Privacy and safety > Direct messages > Allow "
                       "messages from: No one (or 'People you follow' where 'No one' is absent)"),
    SettingDescription("x", "discoverable_by_email", False, "st-marys.verified-followers",
                       "found by people who know the account's e-mail address",
                       "X: Settings and privacy > Privacy and safety > Discoverability and "
                       "contacts > turn off 'Let others find you by your email'"),
    SettingDescription("facebook", "messaging", "off", "wightwick.messaging-off",
                       "Page messaging",
                       "Facebook: Page > Settings > Privacy > Messaging (or Meta Business Suite "
                       "> Inbox > Settings): turn messaging off; then confirm with `steward "
                       "reconcile --confirm facebook.messaging`"),
)


@dataclass(frozen=True)
class Drift:
    setting: SettingDescription
    observed: object  # None: the platform would not say


def drift(platform: str, observed: Mapping[str, object]) -> list[Drift]:
    """Settings of `platform` whose observed value is not the desired one (or is unknown)."""
    return [Drift(setting, observed.get(setting.key)) for setting in SETTINGS
            if setting.platform == platform and observed.get(setting.key) != setting.desired]
