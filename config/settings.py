"""The configuration models. Every field has a description; unknown keys are refused.

Sources, strongest first: `STEWARD_*` environment variables (nested with `__`, for example
`STEWARD_X__REPLY_SETTINGS`), secrets in the systemd credentials directory
(`$CREDENTIALS_DIRECTORY/x.consumer_secret`), the TOML file, then these defaults.
"""

from __future__ import annotations

import base64
import difflib
import os
import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import bech32
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from policies.clauses import DEFAULT_CLAUSES, DEFAULT_RULES, Clause, ClauseCatalogue
from policies.moderation.responses import DEFAULT_ACT, DEFAULT_REVIEW, RESPONSES, table_problems


class Section(BaseModel):
    """A configuration section: unknown keys are errors, and so are wrong types."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


def default_state_dir() -> Path:
    """systemd's $STATE_DIRECTORY when set (StateDirectory=), else /var/lib/steward, or the
    selected school's /var/lib/steward/NAME in a trust (config.schools)."""
    from config.schools import SchoolInstance  # noqa: PLC0415 - below this module, tiny

    given = os.environ.get("STATE_DIRECTORY")
    if given:
        return Path(given.split(":")[0])
    return SchoolInstance.selected().state_dir


class SchoolSettings(Section):
    """The school whose accounts Steward runs."""

    name: str = Field("Oakfield Primary School", description="The school's name, used in "
                      "messages to staff and in reports.")
    time_zone: str = Field("Europe/London", description="IANA time zone in which publish_at "
                           "times without an offset are read (daylight saving is handled).")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known IANA time zone, such as "
                             "'Europe/London'") from None
        return value


class PathSettings(Section):
    """Where Steward keeps its state and where staff drop and collect posts."""

    state_dir: Path = Field(default_factory=default_state_dir, description="Steward's own "
                            "state: the database, the audit log, accepted posts. Only Steward "
                            "reads or writes it.")
    inbox: Path | None = Field(None, description="The watched folder SLT drop approved posts "
                               "into. Default: <state_dir>/inbox.")
    rejected: Path | None = Field(None, description="Where refused submissions go, each with a "
                                  "NAME.rejected.txt that explains why. Default: "
                                  "<state_dir>/rejected.")
    archive: Path | None = Field(None, description="Where published submissions go, each with a "
                                 "receipt of the platforms' URLs. Default: <state_dir>/archive.")

    def resolved(self, name: str) -> Path:
        """Return the configured folder `name`, or its default under the state directory."""
        value = getattr(self, name)
        return Path(value) if value is not None else self.state_dir / name


class IntakeSettings(Section):
    """How the inbox is watched."""

    settle_seconds: float = Field(5.0, ge=0, description="A submission copied into the inbox "
                                  "(rather than renamed in) is taken once it has not changed for "
                                  "this long.")
    scan_interval_seconds: float = Field(30.0, gt=0, description="How often the whole inbox is "
                                         "rescanned, for network shares where inotify sees "
                                         "nothing.")
    max_media_bytes: int = Field(15 * 1024 * 1024, gt=0, description="The largest picture "
                                 "accepted, in bytes; larger files are refused unread.")
    # The intake holds a video and its cleaned copy in memory while it judges them, under the
    # unit's MemoryMax=1G: 200 MiB is a phone's 4-minute 1080p clip, X's 140 seconds at 720p
    # several times over.
    max_video_bytes: int = Field(200 * 1024 * 1024, gt=0, description="The largest video "
                                 "accepted (a file listed under [[videos]]), in bytes; larger "
                                 "files are refused unread, with a notice that says how large "
                                 "a video may be.")
    max_text_bytes: int = Field(256 * 1024, gt=0, description="The largest post.md accepted, in "
                                "bytes.")
    min_free_megabytes: int = Field(50, ge=0, description="Below this much free space in the "
                                    "state directory, new submissions wait in the inbox and the "
                                    "administrator is alerted.")


class SignerSettings(Section):
    """One member of SLT whose signature approves posts."""

    name: str = Field(description="The signer's name as it appears in audit events and refusal "
                      "messages, e.g. 'Deputy Head'.")
    public_key: str = Field(description="The signer's Ed25519 public key, base64, as printed by "
                            "`steward keys new`.")
    email: str | None = Field(None, description="Where to e-mail the reasons when a post they "
                              "signed is refused (optional; needs [mail]).")

    @field_validator("public_key")
    @classmethod
    def _is_ed25519_key(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raise ValueError("is not base64") from None
        if len(raw) != 32:
            raise ValueError("is not a 32-byte Ed25519 public key")
        return value


class ApprovalSettings(Section):
    """Who may approve posts, and how many approvals a post needs."""

    approvals_required: int = Field(1, ge=1, le=5, description="Distinct SLT signatures a post "
                                    "needs; 2 makes a two-person rule.")
    signers: list[SignerSettings] = Field(default_factory=list, description="SLT members whose "
                                          "signatures count.")

    @model_validator(mode="after")
    def _enough_signers(self) -> ApprovalSettings:
        names = [signer.name for signer in self.signers]
        if len(set(names)) != len(names):
            raise ValueError("two signers share a name; names must be unique")
        return self


class PublishingSettings(Section):
    """When and how posts go out, and what happens when a platform fails."""

    grace_minutes: float = Field(60, ge=0, description="A post whose time passed while Steward "
                                 "was not running is still published if it is at most this late; "
                                 "later than that it is held and reported.")
    retry_initial_seconds: float = Field(30, gt=0, description="First wait after a temporary "
                                         "failure; doubled after each further failure, with "
                                         "jitter.")
    retry_max_seconds: float = Field(1800, gt=0, description="Longest wait between retries.")
    max_attempts: int = Field(8, ge=1, description="Attempts per platform before a post is "
                              "marked failed and the administrator is told.")
    lookup_slack_minutes: float = Field(10, ge=0, description="After a crash or an ambiguous "
                                        "error, Steward looks for the post on the platform from "
                                        "this long before the attempt began.")


class PupilSettings(Section):
    """The pupil roster and how strictly pupils' names are kept out of posts."""

    roster_file: Path | None = Field(None, description="CSV export of the pupil roster from the "
                                     "school's information system. Never logged. Default: "
                                     "<state_dir>/roster.csv; without it, names are not checked "
                                     "and Steward says so.")
    first_name_column: str = Field("First Name", description="Roster column with the legal "
                                   "first name.")
    surname_column: str = Field("Surname", description="Roster column with the surname.")
    preferred_name_column: str = Field("Preferred Name", description="Roster column with the "
                                       "name the pupil goes by (may be empty).")
    year_group_column: str = Field("Year", description="Roster column with the year group.")
    words_between: int = Field(3, ge=0, le=10, description="A first name and surname this many "
                               "words apart still count as a full name.")
    allow_first_name_and_initial: bool = Field(True, description="Allow 'Jane S.'.")
    allow_first_names: bool = Field(True, description="Allow a pupil's first name on its own.")


class ConsentSettings(Section):
    """Photo consent: who may be pictured, and the restricted list."""

    register_file: Path | None = Field(None, description="CSV of photo consent, one row per "
                                       "pupil. Never logged. Default: <state_dir>/consent.csv.")
    pupil_column: str = Field("Pupil", description="Register column with the pupil's full "
                              "name, as written under `pictured` in posts.")
    photo_consent_column: str = Field("Photo Consent", description="Register column: yes/no.")
    restricted_column: str = Field("Restricted", description="Register column: yes if the "
                                   "pupil is on the restricted list (never shown).")
    require_pictured: bool = Field(True, description="Posts with photos must list the pupils "
                                   "pictured (`pictured = []` when none can be identified).")
    check_interval_seconds: float = Field(60, gt=0, description="How often Steward compares "
                                          "the register with the live posts; a pupil newly "
                                          "on the restricted list is taken down within this.")
    takedown_grace_hours: float = Field(24, ge=0, description="When photo consent is "
                                        "withdrawn, how long the DSL has to confirm or stop "
                                        "the takedown (`steward consent confirm|keep ID`), "
                                        "e.g. to crop instead. The restricted list has none.")
    takedowns_per_run: int = Field(20, ge=1, description="At most this many posts are taken "
                                   "down in one run; the rest follow in the next.")


class FaceSettings(Section):
    """Faces in photos."""

    policy: Literal["refuse", "blur", "allow"] = Field("refuse", description="What to do with "
                                                      "photos in which a face is detected: "
                                                      "'refuse' them (St Mary's: never "
                                                      "identifiable by face), 'blur' the faces "
                                                      "(the photo is then re-encoded), or "
                                                      "'allow' them (consent is still checked).")
    max_megapixels: float = Field(50, gt=0, description="Larger pictures are refused before "
                                  "being decoded.")
    max_video_seconds: int = Field(600, gt=0, description="Videos are examined for faces one "
                                   "frame a second (and at each change of scene); a longer "
                                   "video is refused, since it cannot be examined whole, when "
                                   "faces are refused or blurred.")


class PersonalDataSettings(Section):
    """Personal information kept out of posts."""

    school_contact_details: list[str] = Field(default_factory=list, description="The school's "
                                              "own phone numbers, e-mail addresses, postcode and "
                                              "street address, which posts may mention.")


class LinkSettings(Section):
    """Where links in posts may go."""

    allow_domains: list[str] = Field(default_factory=list, description="If not empty, links "
                                     "may only go to these domains (and their subdomains), e.g. "
                                     "['oakfield.sch.uk', 'gov.uk'].")
    deny_domains: list[str] = Field(default_factory=list, description="Links may never go to "
                                    "these domains.")
    extra_shorteners: list[str] = Field(default_factory=list, description="Link shorteners to "
                                        "refuse besides the built-in list (bit.ly, tinyurl.com, "
                                        "...).")


class ModerationSettings(Section):
    """Replies and comments on the school's posts: how they are judged and what is done."""

    enabled: bool = Field(True, description="Poll, classify and act on replies and comments.")
    dry_run: bool = Field(False, description="Classify and report everything, act on nothing "
                          "(no hiding, muting or blocking).")
    poll_interval_seconds: float = Field(60, ge=1, description="How often replies and "
                                         "comments are collected.")
    watch_days: int = Field(7, ge=1, le=30, description="Replies are collected on posts made "
                            "in the last this many days (X's recent search covers 7).")
    act_threshold: float = Field(0.9, ge=0, le=1, description="Score at or above which Steward "
                                 "acts (evidence, hide, sanction, report).")
    review_threshold: float = Field(0.25, ge=0, le=1, description="Score at or above which a "
                                    "moderator is asked to decide.")
    model_act: float = Field(0.99, ge=0, le=1, description="The packaged model acts on its own "
                             "only at or above this probability.")
    corroborated_model_act: float = Field(0.97, ge=0, le=1, description="The packaged model "
                                          "acts at this probability when the word list or an "
                                          "insult pattern agrees.")
    school_model_threshold: float | None = Field(None, ge=0, le=1, description="With the "
                                                 "school's own tuning of the model in use "
                                                 "(`steward moderate train`), the probability "
                                                 "at or above which a reply goes to review; by "
                                                 "default the one chosen when it was tuned.")
    add_words: list[str] = Field(default_factory=list, description="Words the school treats as "
                                 "severe (acted on at once), added to the packaged word list.")
    remove_words: list[str] = Field(default_factory=list, description="Words removed from the "
                                    "packaged word list (a school's local usage).")
    staff_names: list[str] = Field(default_factory=list, description="Staff whose names, next "
                                   "to insults, mean harassment (e.g. 'Mrs Example').")
    remove_instead_of_hide: bool = Field(False, description="Read 'hide' in act_responses "
                                         "as 'delete': delete abusive comments where the "
                                         "platform can (Facebook), hide them where it cannot "
                                         "(X replies can only be hidden; the report says so).")
    max_actions_per_hour: int = Field(20, ge=0, description="Hides and sanctions per platform "
                                      "per hour; above it Steward only reports, and alerts.")
    act_responses: list[str] = Field(default_factory=lambda: list(DEFAULT_ACT), description=(
        "What Steward does, in this order, about a reply it judges abusive (verdict 'act'), as "
        "far as each platform allows; what a platform cannot do is said in the incident "
        "report. Starts with 'evidence', ends with 'report'. Responses: " + "; ".join(
            f"'{name}': {RESPONSES[name].summary}" for name in RESPONSES
            if "act" in RESPONSES[name].verdicts) + ". 'mute' and 'dm_block' are left out "
        "where 'block' is done (a block covers them)."))
    review_responses: list[str] = Field(default_factory=lambda: list(DEFAULT_REVIEW),
                                        description="What Steward does about a borderline "
                                        "reply (verdict 'review'): ends with 'queue' (the "
                                        "moderators' digest); may start with 'evidence'.")

    @field_validator("act_responses", "review_responses")
    @classmethod
    def _usable_responses(cls, value: list[str], info: ValidationInfo) -> list[str]:
        verdict = (info.field_name or "").removesuffix("_responses")  # "act" or "review"
        problems = table_problems(verdict, value)
        if problems:
            raise ValueError("; ".join(problems))
        return value


class OrganisationSettings(Section):
    """An established and known organisation the school may follow and be followed by."""

    handle: str = Field(description="Its X handle, without @.")
    user_id: str | None = Field(None, description="Its X user id (safer than the handle, which "
                                "can change).")
    name: str = Field(description="Its name, e.g. 'County Libraries'.")
    why: str = Field("", description="Why the school follows it (for auditors).")


class FollowerSettings(Section):
    """Who may follow the school (St Mary's: verified parents and known organisations)."""

    email_column: str = Field("Email", description="Column of the school office's list that "
                              "holds the verified e-mail addresses.")
    grace_days: int = Field(14, ge=0, description="Days a new, unverified follower has to link "
                            "their account before being treated as overdue.")
    unverified_action: Literal["report", "remove", "block"] = Field(
        "report", description="What to do with overdue followers: 'report' (a checklist for a "
        "person), 'remove' or 'block' (only where the API allows: X's Enterprise plan).")
    max_actions_per_run: int = Field(10, ge=0, description="Removals or blocks per run; above "
                                     "this nobody is removed and the administrator is alerted "
                                     "(a broken list must never mass-block parents).")
    code_ttl_hours: int = Field(72, ge=1, description="How long an invitation code works.")
    full_scan_days: int = Field(30, ge=1, description="Days between full scans of the "
                                "follower list. In between, each check reads only the newest "
                                "followers, up to the first one already known: X charges $0.01 "
                                "per follower read, so an hourly full scan of 2,000 followers "
                                "would cost $480 a day. A list never read is scanned in full.")
    link_by_public_mention: bool = Field(
        False, description="Also link a parent who posts their code in a mention of the "
        "school's account. Off by default: a mention is public, so it tells everyone that its "
        "author is a parent at the school. Without it, a parent puts the code in their X bio "
        "and the office runs `steward followers confirm` (docs/safeguarding.md).")
    organisations: list[OrganisationSettings] = Field(default_factory=list, description="The "
                                                      "allow-list of organisations.")


class ReconcileSettings(Section):
    """How often the reconcilers run."""

    dry_run: bool = Field(False, description="Plan and report only; change nothing.")
    followers_interval_minutes: float = Field(60, gt=0, description="Followers (the newest "
                                              "only, between full scans) and link codes.")
    following_interval_minutes: float = Field(1440, gt=0, description="The accounts the school "
                                              "follows. Daily: X charges $0.01 for every "
                                              "account listed, each time.")
    settings_interval_minutes: float = Field(1440, gt=0, description="Privacy settings (a "
                                             "checklist for a person; X charges $0.01 for each "
                                             "read of the account).")
    direct_messages_interval_minutes: float = Field(5, gt=0, description="Direct messages.")


class MailSettings(Section):
    """E-mail to people: incident reports, review digests, alerts."""

    smtp_host: str | None = Field(None, description="SMTP server. Without one, messages go to "
                                  "the Maildir outbox <state_dir>/outbox for an administrator "
                                  "to read or forward.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 for STARTTLS).")
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS before "
                           "logging in (certificate checked).")
    ca_file: Path | None = Field(None, description="A CA certificate to trust for the SMTP "
                                 "server (a school's own relay); default: the system's CAs.")
    username: str | None = Field(None, description="SMTP login name.")
    password: SecretStr | None = Field(None, description="SMTP password (secret; put it in the "
                                       "credentials directory as mail.password).")
    from_address: str = Field("steward@localhost", description="The sender address.")
    timeout_seconds: float = Field(20, gt=0, description="SMTP timeout.")
    head_teacher: str | None = Field(None, description="The head teacher's address: incident "
                                     "reports.")
    esafety_lead: str | None = Field(None, description="The e-safety lead's address: incident "
                                     "reports.")
    moderators: list[str] = Field(default_factory=list, description="Addresses that receive "
                                  "the digest of replies to review.")
    administrators: list[str] = Field(default_factory=list, description="Addresses that "
                                      "receive alerts (credentials, caps, failures).")


class CredentialSettings(Section):
    """Where the vault's master key is, and when to warn about expiring credentials."""

    master_key_file: Path | None = Field(None, description="The master key file (0600), when "
                                         "systemd's credential steward.master-key is not used. "
                                         "Keep it outside the state directory, so that a copy "
                                         "of that directory does not open the vault. Default: "
                                         "/etc/steward/master.key (an older "
                                         "<state_dir>/master.key still works, with a warning).")
    warn_days: int = Field(14, ge=1, description="Alert this many days before a credential "
                           "expires.")


class RecipientSettings(Section):
    """A person who can open the escrow bundle."""

    name: str = Field(description="Their name, e.g. 'Head Teacher'.")
    role: Literal["head teacher", "chair of governors", "administrator", "other"] = Field(
        "other", description="Their role; administrators are removed by `steward handover`.")
    public_key: str = Field(description="Their age public key (age1...), as printed by "
                            "`steward escrow keygen` or `age-keygen`. A key in the base64 form "
                            "of Steward before age still works; `steward escrow verify` says "
                            "how to rewrite it.")
    email: str | None = Field(None, description="Where to tell them about handovers.")

    @field_validator("public_key")
    @classmethod
    def _is_age_recipient(cls, value: str) -> str:
        if value.startswith("age1"):
            human_part, data = bech32.bech32_decode(value)
            if human_part != "age" or data is None or \
                    len(bech32.convertbits(data, 5, 8, False) or ()) != 32:
                raise ValueError("is not a valid age public key (copy it whole, as `steward "
                                 "escrow keygen` printed it)")
            return value
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raise ValueError("is not an age public key (age1..., as `steward escrow keygen` "
                             "prints it)") from None
        if len(raw) != 32:
            raise ValueError("is not an age public key (age1..., as `steward escrow keygen` "
                             "prints it)")
        return value


class EscrowSettings(Section):
    """The escrow of the accounts' credentials to the school's leaders."""

    recipients: list[RecipientSettings] = Field(default_factory=list, description="Who can "
                                                "open the escrow bundle.")


def _platform_url(value: str) -> str:
    """An API address: https anywhere, plain http only to this machine (a stand-in), never with
    a user name, password, query or fragment."""
    from urllib.parse import urlsplit  # noqa: PLC0415

    parts = urlsplit(value)
    loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
    if parts.scheme not in ("https", "http") or not parts.hostname or (
            parts.scheme == "http" and not loopback):
        raise ValueError("must be an https:// address (plain http:// only to this machine)")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must be a plain address, with no user name, query or fragment")
    return value.rstrip("/")


class XSettings(Section):
    """The school's X account (OAuth 1.0a user context)."""

    enabled: bool = Field(True, description="Publish to X.")
    plan: Literal["pay-per-usage", "free", "basic", "pro", "enterprise"] = Field(
        "pay-per-usage", description="The X API plan: 'pay-per-usage' (X's self-serve plan, "
        "billed per call: see monthly_budget_usd) or 'enterprise' (blocking by API). 'free', "
        "'basic' and 'pro' are X's former self-serve plans and mean the same as "
        "pay-per-usage here.")
    reply_settings: Literal["following", "mentionedUsers", "subscribers", "verified"] | None = \
        Field("following", description="Who may reply to the school's posts. 'following' lets "
              "only accounts the school follows (organisations) reply, which stops most abuse at "
              "the source. Remove the line to let everyone reply.")
    timeout_seconds: float = Field(20, gt=0, description="Timeout for each request to X.")
    monthly_budget_usd: float = Field(25.0, ge=0, description="What Steward may spend on X's "
                                      "pay-per-usage API a month, in US dollars (X bills in "
                                      "dollars). At 80% the administrators are warned; at "
                                      "100% follower scans and reply polling on old posts stop "
                                      "until the month ends, never publishing nor the "
                                      "responses to a live incident.")
    api_url: str = Field("https://api.x.com", description="Where X's API is (its OpenAPI "
                         "specification's server). Change it only for a proxy the school runs, "
                         "or a stand-in on this machine (plain http only on loopback).")
    consumer_key: SecretStr | None = Field(None, description="API key of the X app (secret).")
    consumer_secret: SecretStr | None = Field(None, description="API key secret (secret).")
    access_token: SecretStr | None = Field(None, description="Access token of the school's "
                                           "account (secret).")
    access_token_secret: SecretStr | None = Field(None, description="Access token secret "
                                                  "(secret).")
    oauth2_client_id: str | None = Field(None, description="OAuth 2.0 client id, when the "
                                         "account is authorised with OAuth 2.0 instead of the "
                                         "four OAuth 1.0a values.")
    oauth2_client_secret: SecretStr | None = Field(None, description="OAuth 2.0 client secret "
                                                   "(confidential clients; secret).")
    oauth2_access_token: SecretStr | None = Field(None, description="OAuth 2.0 user access "
                                                  "token (secret; refreshed by Steward).")
    oauth2_refresh_token: SecretStr | None = Field(None, description="OAuth 2.0 refresh token "
                                                   "(secret; replaced at every refresh).")

    @field_validator("api_url")
    @classmethod
    def _plain_address(cls, value: str) -> str:
        return _platform_url(value)


class FacebookSettings(Section):
    """The school's Facebook Page."""

    enabled: bool = Field(True, description="Publish to the Facebook Page.")
    page_id: str | None = Field(None, description="The Page's numeric id.")
    graph_version: str = Field("v25.0", description="Graph API version, e.g. 'v25.0'. Meta "
                               "retires versions about two years after release.")
    timeout_seconds: float = Field(20, gt=0, description="Timeout for each Graph API request.")
    graph_url: str = Field("https://graph.facebook.com", description="Where the Graph API is. "
                           "Change it only for a proxy the school runs, or a stand-in on this "
                           "machine (plain http only on loopback).")
    page_access_token: SecretStr | None = Field(None, description="A Page access token (or a "
                                                "system user's token) with pages_manage_posts "
                                                "(secret).")
    app_id: str | None = Field(None, description="The Meta app's id (App settings > Basic), "
                               "with app_secret the app token Steward asks when the Page token "
                               "expires.")
    app_secret: SecretStr | None = Field(None, description="The Meta app's secret (secret): "
                                         "every call then carries appsecret_proof, which an "
                                         "app with 'Require App Secret' on (Meta recommends "
                                         "it) needs on every call.")

    @field_validator("graph_url")
    @classmethod
    def _plain_address(cls, value: str) -> str:
        return _platform_url(value)

    @field_validator("graph_version")
    @classmethod
    def _version_shape(cls, value: str) -> str:
        if not re.fullmatch(r"v\d+\.\d+", value):
            raise ValueError("must look like 'v25.0'")
        return value


class InstagramSettings(Section):
    """The school's Instagram professional account, linked to its Facebook Page (Instagram API
    with Facebook Login: the Page's token publishes). Instagram takes no upload: it fetches
    each photo from a public address, so Steward serves the cleaned file itself, at a
    short-lived unguessable URL, on `serve_address`, which the administrator's reverse proxy
    makes public as `public_base_url` (docs/administrator.md)."""

    enabled: bool = Field(False, description="Publish photos and carousels to Instagram. "
                          "Needs public_base_url in live mode.")
    user_id: str | None = Field(None, description="The Instagram professional account's id "
                                "(GET /{page-id}?fields=instagram_business_account).")
    public_base_url: str | None = Field(None, description="The public https:// address under "
                                        "which the reverse proxy forwards to serve_address, "
                                        "e.g. 'https://media.oakfield.example/steward'. Each "
                                        "photo is served there under a new unguessable name "
                                        "for a few minutes only. Without it Instagram cannot "
                                        "be used (in sandbox mode, the local address is used).")
    serve_address: str = Field("127.0.0.1:8790", description="host:port where Steward serves "
                               "the photos Instagram fetches; keep it on this machine (the "
                               "reverse proxy reaches it). Port 0 picks a free one.")
    url_lifetime_minutes: int = Field(15, ge=1, le=120, description="The longest a photo's URL "
                                      "works; it is withdrawn sooner, as soon as Instagram "
                                      "has fetched it.")
    poll_seconds: float = Field(2.0, gt=0, description="How often Steward asks whether "
                                "Instagram has finished processing a photo.")

    @field_validator("public_base_url")
    @classmethod
    def _public_address(cls, value: str | None) -> str | None:
        return None if value is None else _platform_url(value)

    @field_validator("serve_address")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("must be host:port, e.g. '127.0.0.1:8790'")
        return value

    def unavailable_reason(self, mode: str) -> str | None:
        """Why Instagram cannot be used with this configuration, in plain words; None if it
        can."""
        if not self.enabled:
            return None
        if mode == "live" and self.public_base_url is None:
            return ("Instagram cannot be used: it takes no upload and fetches each photo from a "
                    "public https:// address, and instagram.public_base_url is not set. Set it "
                    "to the address your reverse proxy forwards to instagram.serve_address "
                    "(docs/administrator.md, 'Instagram's public address').")
        if mode == "live" and self.user_id is None:
            return ("Instagram cannot be used: instagram.user_id (the professional account's "
                    "id) is not set.")
        return None


class SandboxSettings(Section):
    """The built-in stand-in for X and Facebook, used when `mode = "sandbox"`."""

    url: str | None = Field(None, description="Use a sandbox already running at this URL "
                            "(`steward sandbox serve`). Default: start one inside Steward.")
    port: int = Field(0, ge=0, le=65535, description="Port for the built-in sandbox; 0 picks a "
                      "free one.")
    state_file: Path | None = Field(None, description="Where the built-in sandbox keeps its "
                                    "state. Default: <state_dir>/sandbox-state.json.")
    scenario: Path | None = Field(None, description="A scenario file (followers, replies, DMs) "
                                  "for the built-in sandbox.")


class AuditSettings(Section):
    """The audit log."""

    stdout: bool = Field(True, description="Also write every log line to standard output "
                         "(journald under systemd).")
    checkpoint_every_events: int = Field(1000, ge=1, le=1_000_000, description="Sign a "
                                         "checkpoint after this many events.")
    checkpoint_every_minutes: int = Field(60, ge=1, le=60, description="And at least this "
                                          "often while events arrive (and always on stop).")
    rotate_daily: bool = Field(True, description="Start a new log file each day; the old one "
                               "moves to <state_dir>/audit-archive/, the chain continuing.")
    rotate_max_megabytes: int = Field(64, ge=1, le=4096, description="Also start a new file "
                                      "when the live one grows past this size.")
    digest_to: list[str] = Field(default_factory=list, description="Addresses (the chair of "
                                 "governors, an auditor: people without access to this machine) "
                                 "that receive the checkpoint digest, a record of the latest "
                                 "signed checkpoint kept outside the machine. Empty: the "
                                 "administrators.")
    digest_every_days: int = Field(7, ge=1, le=31, description="How often the checkpoint digest "
                                   "is sent.")


CLAUSE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


class ClauseSettings(Section):
    """One clause of the school's own policy, as the policy words it."""

    id: str = Field(description="The clause's short id, which audit events and refusals "
                    "carry: letters, digits, '.', '-' and '_', e.g. 'oakfield.no-full-names'.")
    title: str = Field(min_length=1, description="A few words that name it in reports, e.g. "
                       "'No full names of children'.")
    text: str = Field(min_length=1, description="The clause, quoted from the school's policy; "
                      "refusals quote it to the person who must fix the post.")
    source: str = Field(min_length=1, description="The document and section it comes from, "
                        "e.g. 'Oakfield Primary School social media policy, section 4'.")

    @field_validator("id")
    @classmethod
    def _plain_id(cls, value: str) -> str:
        if not CLAUSE_ID.fullmatch(value):
            raise ValueError("must be letters, digits, '.', '-' or '_' (no spaces), starting "
                             "with a letter or digit, at most 80 characters")
        return value


def default_clauses() -> list[ClauseSettings]:
    """The clauses Steward cites when a school configures none (policies.clauses)."""
    return [ClauseSettings(id=clause.id, title=clause.title, text=clause.text,
                           source=clause.source) for clause in DEFAULT_CLAUSES]


class PolicySettings(Section):
    """The school's own social media policy: the clauses Steward cites in refusals, audit
    events and reports, and which clause each of Steward's rules enforces. Out of the box these
    are clauses from four schools' policies; replace them with the school's own, and map every
    rule to one of them."""

    clauses: list[ClauseSettings] = Field(default_factory=default_clauses, description="The "
                                          "school's clauses. Listing any replaces the whole "
                                          "default list.")
    rules: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_RULES), description="Rule id = id of the clause "
        "it cites. A rule left out cites its default clause, which must then be in `clauses`.")

    @model_validator(mode="after")
    def _every_rule_cites_a_clause(self) -> PolicySettings:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        first_of: dict[str, int] = {}
        for index, clause in enumerate(self.clauses):
            if clause.id in first_of:
                problems.append((("clauses", index, "id"), f"[[policy.clauses]] number "
                                 f"{index + 1} has the id {clause.id!r} of number "
                                 f"{first_of[clause.id] + 1}; every clause needs its own id"))
            first_of.setdefault(clause.id, index)
        given = self.rules if "rules" in self.model_fields_set else {}
        for rule, clause_id in given.items():
            if rule not in DEFAULT_RULES:
                close = difflib.get_close_matches(rule, list(DEFAULT_RULES), n=1)
                hint = f"did you mean '{close[0]}'?" if close else \
                    "`steward config generate` lists every rule"
                problems.append((("rules", rule), f"Steward has no rule of this name; {hint}"))
            elif not clause_id.strip():
                problems.append((("rules", rule), "every rule must cite a clause: give the id "
                                 "of one of [[policy.clauses]]"))
            elif clause_id not in first_of:
                problems.append((("rules", rule), f"cites {clause_id!r}, which is not the id of "
                                 "any of [[policy.clauses]]"))
        for rule, default in DEFAULT_RULES.items():
            if rule not in given and default not in first_of:
                problems.append((("rules", rule), f"this rule has no clause: its default, "
                                 f"{default!r}, is not among [[policy.clauses]]; map it to one "
                                 "of the school's clause ids"))
        if problems:
            raise ValidationError.from_exception_data("PolicySettings", [
                InitErrorDetails(type=PydanticCustomError("policy", "{message}",
                                                          {"message": message}),
                                 loc=location, input=None)
                for location, message in problems])
        self.rules = {**DEFAULT_RULES, **given}
        return self

    def catalogue(self) -> ClauseCatalogue:
        """The school's clauses and the clause each rule cites, for the rules and the daemon."""
        return ClauseCatalogue.of(
            [Clause(clause.id, clause.title, clause.text, clause.source)
             for clause in self.clauses], self.rules)

    def clause_id(self, rule: str) -> str:
        """The id of the school's clause that `rule` cites (for audit events' `clause`)."""
        return self.rules.get(rule) or DEFAULT_RULES[rule]


class StewardSettings(BaseSettings):
    """Steward's whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix="STEWARD_", env_nested_delimiter="__", extra="forbid", validate_default=True,
    )

    mode: Literal["sandbox", "live"] = Field("sandbox", description="'sandbox' talks to the "
                                             "built-in stand-in for X and Facebook and needs no "
                                             "accounts; 'live' talks to the real platforms.")
    school: SchoolSettings = Field(default_factory=SchoolSettings, description="The school.")
    paths: PathSettings = Field(default_factory=PathSettings, description="Folders.")
    intake: IntakeSettings = Field(default_factory=IntakeSettings, description="The inbox.")
    approval: ApprovalSettings = Field(default_factory=ApprovalSettings,
                                       description="Who approves posts.")
    publishing: PublishingSettings = Field(default_factory=PublishingSettings,
                                           description="Publishing and retries.")
    pupils: PupilSettings = Field(default_factory=PupilSettings, description="Pupils' names.")
    consent: ConsentSettings = Field(default_factory=ConsentSettings,
                                     description="Photo consent.")
    faces: FaceSettings = Field(default_factory=FaceSettings, description="Faces.")
    moderation: ModerationSettings = Field(default_factory=ModerationSettings,
                                           description="Moderation.")
    mail: MailSettings = Field(default_factory=MailSettings, description="E-mail.")
    followers: FollowerSettings = Field(default_factory=FollowerSettings,
                                        description="Followers.")
    reconcile: ReconcileSettings = Field(default_factory=ReconcileSettings,
                                         description="Reconcilers.")
    credentials: CredentialSettings = Field(default_factory=CredentialSettings,
                                            description="The vault.")
    escrow: EscrowSettings = Field(default_factory=EscrowSettings, description="Escrow.")
    personal_data: PersonalDataSettings = Field(default_factory=PersonalDataSettings,
                                                description="Personal information.")
    links: LinkSettings = Field(default_factory=LinkSettings, description="Links.")
    x: XSettings = Field(default_factory=XSettings, description="The X account.")
    facebook: FacebookSettings = Field(default_factory=FacebookSettings,
                                       description="The Facebook Page.")
    instagram: InstagramSettings = Field(default_factory=InstagramSettings,
                                         description="The Instagram account.")
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings,
                                     description="The built-in sandbox.")
    audit: AuditSettings = Field(default_factory=AuditSettings, description="The audit log.")
    policy: PolicySettings = Field(default_factory=PolicySettings, description="The school's "
                                   "own policy, which Steward cites.")

    @model_validator(mode="after")
    def _live_mode_has_its_accounts(self) -> StewardSettings:
        """Live mode must name the accounts (not secret, so in the file). Its secrets may be in
        the vault, which is read later: `missing_credentials` checks them then."""
        if self.mode == "live" and self.facebook.enabled and self.facebook.page_id is None:
            raise ValueError("live mode needs facebook.page_id, the Page's numeric id (or set "
                             "facebook.enabled = false)")
        return self

    def missing_credentials(self) -> list[str]:
        """The secrets live mode still lacks once the vault's are in (an empty list in sandbox
        mode, where the sandbox's own stand in), each as the name `steward credentials set`
        takes."""
        if self.mode != "live":
            return []
        missing = []
        if self.x.enabled and self.x.oauth2_access_token is None:
            missing += [f"x.{name}" for name in ("consumer_key", "consumer_secret",
                                                 "access_token", "access_token_secret")
                        if getattr(self.x, name) is None]
        elif self.x.enabled:
            missing += [f"x.{name}" for name in ("oauth2_client_id", "oauth2_refresh_token")
                        if getattr(self.x, name) is None]
        if self.facebook.enabled and self.facebook.page_access_token is None:
            missing.append("facebook.page_access_token")
        return missing

    def enabled_platforms(self) -> list[str]:
        """The platforms Steward publishes to, in a fixed order."""
        platforms = [name for name in ("x", "facebook") if getattr(self, name).enabled]
        if self.instagram.enabled and self.instagram.unavailable_reason(self.mode) is None:
            platforms.append("instagram")
        return platforms

    def secret_values(self) -> list[str]:
        """Every configured secret value, so logs can be scrubbed of them."""
        values = []
        for section in (self.x, self.facebook, self.mail):
            for name in type(section).model_fields:
                value = getattr(section, name)
                if isinstance(value, SecretStr) and value.get_secret_value():
                    values.append(value.get_secret_value())
        return values


SECRET_FIELDS = {
    f"{section}.{name}"
    for section, model in (("x", XSettings), ("facebook", FacebookSettings),
                           ("mail", MailSettings))
    for name, field in model.model_fields.items()
    if "SecretStr" in str(field.annotation)
}
