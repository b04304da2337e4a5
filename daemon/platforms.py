"""Build the connectors the configuration asks for, aimed at the real platforms or the sandbox."""

from __future__ import annotations

from config.settings import StewardSettings
from connectors.facebook import FacebookPageConnector
from connectors.protocol import Connector
from connectors.x import XConnector
from sandbox.state import DEFAULT_FACEBOOK_CREDENTIALS, DEFAULT_X_CREDENTIALS


def _secret(value, default: str) -> str:
    return value.get_secret_value() if value is not None else default


def build_connectors(settings: StewardSettings, sandbox_url: str | None) -> dict[str, Connector]:
    """One connector per enabled platform. In sandbox mode, missing credentials are the
    sandbox's own, and every request goes to `sandbox_url`."""
    sandbox = settings.mode == "sandbox"
    if sandbox and not sandbox_url:
        raise ValueError("sandbox mode needs the sandbox's URL")
    url = sandbox_url if sandbox else None
    connectors: dict[str, Connector] = {}
    if settings.x.enabled:
        x = settings.x
        fallback = DEFAULT_X_CREDENTIALS if sandbox else dict.fromkeys(DEFAULT_X_CREDENTIALS, "")
        connectors["x"] = XConnector(
            consumer_key=_secret(x.consumer_key, fallback["consumer_key"]),
            consumer_secret=_secret(x.consumer_secret, fallback["consumer_secret"]),
            access_token=_secret(x.access_token, fallback["access_token"]),
            access_token_secret=_secret(x.access_token_secret, fallback["access_token_secret"]),
            timeout=x.timeout_seconds, reply_settings=x.reply_settings, sandbox_url=url)
    if settings.facebook.enabled:
        facebook = settings.facebook
        connectors["facebook"] = FacebookPageConnector(
            page_id=facebook.page_id or (DEFAULT_FACEBOOK_CREDENTIALS["page_id"] if sandbox else ""),
            page_access_token=_secret(facebook.page_access_token,
                                      DEFAULT_FACEBOOK_CREDENTIALS["page_access_token"]
                                      if sandbox else ""),
            graph_version=facebook.graph_version, timeout=facebook.timeout_seconds,
            sandbox_url=url)
    return connectors
