"""Build the connectors the configuration asks for, aimed at the real platforms or the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests

from config.settings import StewardSettings
from connectors.domain import MediaHost
from connectors.facebook import FacebookPageConnector
from connectors.instagram import InstagramConnector
from connectors.protocol import Connector
from connectors.uploads import UploadJournal
from connectors.x import XConnector
from daemon.runtime.clock import Clock
from daemon.runtime.spend import SpendLedger
from sandbox.state import (
    DEFAULT_FACEBOOK_APP,
    DEFAULT_FACEBOOK_CREDENTIALS,
    DEFAULT_INSTAGRAM_USER_ID,
    DEFAULT_X_CREDENTIALS,
)


def _secret(value, default: str) -> str:
    return value.get_secret_value() if value is not None else default


def save_refreshed_tokens(settings: StewardSettings, access: str, refresh: str,
                          expires_at: float) -> None:
    """Persist a refreshed OAuth 2.0 pair in the vault, in one atomic write, before use."""
    from daemon.credentials.vault import Vault  # noqa: PLC0415

    Vault(settings, create=True).set_many({"x.oauth2_access_token": access,
                                           "x.oauth2_refresh_token": refresh})


def build_connectors(settings: StewardSettings, sandbox_url: str | None,
                     clock: Clock | None = None,
                     uploads: UploadJournal | None = None,
                     media_host: MediaHost | None = None) -> dict[str, Connector]:
    """One connector per enabled platform. In sandbox mode, missing credentials are the
    sandbox's own, and every request goes to `sandbox_url`. `clock` tells the X connector the
    time when X's answer does not, and waits while X processes a video; `uploads` (the
    daemon's store) remembers how far each upload in chunks went, across restarts.
    `media_host` serves the photos Instagram fetches; without it (or without a public address:
    `InstagramSettings.unavailable_reason`) Instagram is not built, and the daemon says why."""
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
            timeout=x.timeout_seconds, reply_settings=x.reply_settings, sandbox_url=url,
            api_url=x.api_url,
            plan=x.plan,
            oauth2_access_token=_secret(x.oauth2_access_token, "") or None,
            oauth2_refresh_token=_secret(x.oauth2_refresh_token, "") or None,
            oauth2_client_id=x.oauth2_client_id,
            oauth2_client_secret=_secret(x.oauth2_client_secret, "") or None,
            save_tokens=lambda access, refresh, expires: save_refreshed_tokens(
                settings, access, refresh, expires), clock=clock or Clock(),
            # every charged call goes into the month's ledger (X bills per call)
            on_usage=SpendLedger(settings.paths.state_dir, clock or Clock()).record,
            uploads=uploads)
    if settings.facebook.enabled:
        facebook = settings.facebook
        connectors["facebook"] = FacebookPageConnector(
            page_id=facebook.page_id or (DEFAULT_FACEBOOK_CREDENTIALS["page_id"] if sandbox else ""),
            page_access_token=_secret(facebook.page_access_token,
                                      DEFAULT_FACEBOOK_CREDENTIALS["page_access_token"]
                                      if sandbox else ""),
            graph_version=facebook.graph_version, timeout=facebook.timeout_seconds,
            sandbox_url=url, api_url=facebook.graph_url,
            app_id=facebook.app_id or (DEFAULT_FACEBOOK_APP["app_id"] if sandbox else None),
            app_secret=_secret(facebook.app_secret,
                               DEFAULT_FACEBOOK_APP["app_secret"] if sandbox else "") or None)
    instagram = settings.instagram
    if instagram.enabled and media_host is not None and \
            instagram.unavailable_reason(settings.mode) is None:
        facebook = settings.facebook
        connectors["instagram"] = InstagramConnector(
            instagram_user_id=instagram.user_id or (DEFAULT_INSTAGRAM_USER_ID if sandbox else ""),
            page_access_token=_secret(facebook.page_access_token,
                                      DEFAULT_FACEBOOK_CREDENTIALS["page_access_token"]
                                      if sandbox else ""),
            media_host=media_host, graph_version=facebook.graph_version,
            timeout=facebook.timeout_seconds, sandbox_url=url, api_url=facebook.graph_url,
            app_id=facebook.app_id or (DEFAULT_FACEBOOK_APP["app_id"] if sandbox else None),
            app_secret=_secret(facebook.app_secret,
                               DEFAULT_FACEBOOK_APP["app_secret"] if sandbox else "") or None,
            poll_seconds=instagram.poll_seconds)
    return connectors


def start_media_host(settings: StewardSettings, clock: Clock | None = None):
    """The server of Instagram's short-lived photo URLs, started; None when Instagram is off
    or cannot be used (`unavailable_reason` says why)."""
    from datetime import timedelta  # noqa: PLC0415

    from daemon.runtime.public_media import PublicMediaServer  # noqa: PLC0415

    instagram = settings.instagram
    if not instagram.enabled or instagram.unavailable_reason(settings.mode) is not None:
        return None
    host, _, port = instagram.serve_address.rpartition(":")
    return PublicMediaServer(instagram.public_base_url, host=host.strip("[]"), port=int(port),
                             lifetime=timedelta(minutes=instagram.url_lifetime_minutes),
                             clock=clock).start()


SANDBOX_URL_FILE = "sandbox.url"


@contextmanager
def connectors_for_command(settings: StewardSettings) -> Iterator[dict[str, Connector]]:
    """Connectors for a one-off command. In sandbox mode: the running daemon's sandbox if it is
    up (its URL is in <state_dir>/sandbox.url), else a sandbox started on the same state file
    for the length of the command."""
    sandbox = None
    url = None
    if settings.mode == "sandbox":
        url = settings.sandbox.url
        recorded = settings.paths.state_dir / SANDBOX_URL_FILE
        if url is None and recorded.exists():
            candidate = recorded.read_text(encoding="utf-8").strip()
            try:
                requests.get(f"{candidate}/_sandbox/health", timeout=2).raise_for_status()
                url = candidate
            except requests.RequestException:
                url = None
        if url is None:
            from sandbox.app import start_sandbox  # noqa: PLC0415

            sandbox = start_sandbox(state_file=settings.sandbox.state_file
                                    or settings.paths.state_dir / "sandbox-state.json")
            url = sandbox.url
    connectors = build_connectors(settings, url)
    try:
        for connector in connectors.values():
            try:
                connector.check()
            except Exception:  # noqa: BLE001, S110 - reported by the command's own calls
                pass
        yield connectors
    finally:
        if sandbox is not None:
            sandbox.stop()
