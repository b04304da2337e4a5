"""The clauses of a school's policy that Steward's rules enforce, so that refusals and audit
events cite the deploying school's own policy.

A school configures its clause catalogue (`[[policy.clauses]]`: id, title, text, source) and
which of its clauses each rule cites (`[policy.rules]`); `config` builds a `ClauseCatalogue`
from that and the daemon hands it to the rules in `PolicyContext.clauses`. Nothing here reads
configuration: policies receive the catalogue.

Every rule has a stable id and a default clause (`DEFAULT_RULES`). The defaults, and the
clauses in `DEFAULT_CLAUSES` (quoted from the policies in `shared/school-policies/`), are the
template `steward config generate` writes: an install that configures nothing cites exactly
what Steward always cited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Clause:
    """One clause of the school's policy: `id` is what audit events carry (`clause=...`),
    `title` a few words for reports, `text` the clause as the policy words it, and `source`
    the document and section it comes from."""

    id: str
    title: str
    text: str
    source: str

    def citation(self) -> str:
        """Return '<source>: "<text>"' for messages to people."""
        return f'{self.source}: "{self.text}"'


class UnknownRule(KeyError):
    """A rule id the catalogue does not know: a programming error, never a school's."""


@dataclass(frozen=True)
class ClauseCatalogue:
    """The school's clauses by id, and the clause each rule cites (rule id -> clause id).

    Built by `config` (which has checked that every rule cites a clause of the catalogue);
    rules and the daemon only read it.
    """

    clauses: Mapping[str, Clause]
    rules: Mapping[str, str]

    @classmethod
    def of(cls, clauses: Iterable[Clause], rules: Mapping[str, str]) -> ClauseCatalogue:
        """A catalogue of `clauses`, each rule citing the clause `rules` names, or its default
        clause when `rules` does not name it."""
        return cls({clause.id: clause for clause in clauses}, {**DEFAULT_RULES, **rules})

    def clause_id(self, rule: str) -> str:
        """The id of the clause `rule` cites, for audit events. Raise UnknownRule for a rule
        Steward does not have."""
        try:
            return self.rules[rule]
        except KeyError:
            raise UnknownRule(f"no rule {rule!r} (policies.clauses.DEFAULT_RULES lists them)") \
                from None

    def clause_for(self, rule: str) -> Clause | None:
        """The clause `rule` cites, or None if the catalogue does not hold it (configuration
        validation makes sure it does)."""
        return self.clauses.get(self.clause_id(rule))

    def title(self, clause_id: str) -> str:
        """The title of the clause `clause_id`, or "" for a clause this catalogue does not
        hold (an event written under another catalogue)."""
        clause = self.clauses.get(clause_id)
        return clause.title if clause is not None else ""


ST_MARYS = "St Mary's CE Primary social media policy"
ROCHESTER = "City of Rochester online safety policy"
LOUGHTON = "Loughton School social media policy"
WIGHTWICK = "Wightwick Hall School social media policy"

DEFAULT_CLAUSES: tuple[Clause, ...] = (
    Clause("st-marys.slt-posts", "Posts are made by the SLT",
           "Tweets on the school's Twitter account will be posted by the SLT and any members of "
           "staff who wish to add a specific tweet must do so via a member of the SLT (this will "
           "ensure all tweets made by the school are appropriate and have been checked).",
           f"{ST_MARYS}, Guidelines for Twitter"),
    Clause("rochester.second-reader", "A second colleague reads public communications",
           "Public communications on behalf of the setting will, where appropriate and possible, "
           "be read and agreed by at least one other colleague.",
           f"{ROCHESTER}, 5. Official use of social media"),
    Clause("rochester.scrutiny", "Official communication is open to scrutiny",
           "All communication on official social media platforms by staff on behalf of the "
           "setting will be clear, transparent and open to scrutiny.",
           f"{ROCHESTER}, 5. Official use of social media"),
    Clause("rochester.inclusive", "Nobody is excluded from official communication",
           "We will ensure that any official social media use does not exclude members of the "
           "community who are unable or unwilling to use social media channels.",
           f"{ROCHESTER}, 5. Official use of social media"),
    Clause("loughton.headteacher-consent", "Pictures of school events need the Headteacher's "
           "consent",
           "Staff must not post pictures of school events without the Headteacher's consent.",
           f"{LOUGHTON}, Staff use of social media, iv"),
    Clause("st-marys.no-geolocation", "No location data",
           "The school's Twitter account will disable geographical location data so that tweets "
           "made off site such as on a school trip or school journey residential trip cannot be "
           "geographically traced.",
           f"{ST_MARYS}, Guidelines for Twitter"),
    Clause("st-marys.no-full-names", "No full names of children",
           "The school's Twitter account will never tweet or make reference to the full names of "
           "children in our school.",
           f"{ST_MARYS}, Guidelines for Twitter"),
    Clause("st-marys.no-personal-information", "No personal information",
           "Do not post or publish any kind of personal information such as full names, age, "
           "contact numbers, where you live etc.",
           f"{ST_MARYS}, Protocols and Guidelines for Twitter"),
    Clause("st-marys.known-organisations", "Links to established and known organisations",
           "The school's Twitter account is to be used as a blog to record school activity, "
           "provide announcements and reminders and to tweet posts or links that reference "
           "established and known organisations that the school deems as appropriate and "
           "useful.",
           f"{ST_MARYS}, Guidelines for Twitter"),
    Clause("st-marys.no-faces", "No identifiable faces",
           "To help protect the identity and privacy of pupils and members of staff we will never "
           "publish photographs or videos in which our children and staff can be identified by "
           "face on our school Twitter account.",
           f"{ST_MARYS}, Guidelines for Twitter"),
    Clause("st-marys.photo-consent", "Photographs of children need written consent",
           "Staff must not publish photographs of children without the written consent of "
           "parents/carers.",
           f"{ST_MARYS}, School Sanctioned Use of Social Media"),
    Clause("wightwick.restricted-list", "Children on the restricted list are never shown",
           "Photographs must be checked carefully to ensure that children who are on the "
           "restricted list are never shown on the social media.",
           f"{WIGHTWICK}, Using social media on behalf of Wightwick Hall School"),
    Clause("st-marys.copy-remove-report", "Abuse is copied, removed and reported",
           "Any inappropriate comments on or abuse of school-sanctioned social media should "
           "immediately be copied, removed and reported to either the Head Teacher or e-Safety "
           "coordinator.",
           f"{ST_MARYS}, School Sanctioned Use of Social Media"),
    Clause("st-marys.block-or-report", "Abusive users are blocked or reported",
           "The school's Twitter account will block or report any user that is disrespectful, "
           "offensive, inappropriate or misuses the service.",
           f"{ST_MARYS}, Guidelines for Twitter"),
    Clause("wightwick.hide", "Such comments are hidden",
           "The school will 'hide' such comments that any parent/carer make.",
           f"{WIGHTWICK}, Procedures"),
    Clause("loughton.incident-log", "Online bullying is documented in the incident log",
           "Instances of online bullying will be dealt with according to the school's Behaviour "
           "Policy and will be documented in the eSafety Incident Log.",
           f"{LOUGHTON}, F. Dealing with incidents of online bullying"),
    Clause("st-marys.verified-followers", "Followers are verified by the school office",
           "'Followers' of our school Twitter account will only be accepted once their associated "
           "e-mail has been verified as the e-mail they have provided on records held by the "
           "school office.",
           f"{ST_MARYS}, Guidelines for Twitter"),
    Clause("st-marys.follows-organisations-only", "The account follows no personal accounts",
           "The school's Twitter account will not follow the personal accounts of parents, "
           "carers, members of staff, children or anyone else.",
           f"{ST_MARYS}, Guidelines for Twitter"),
    Clause("wightwick.messaging-off", "Messaging is switched off",
           "The messaging services that Facebook provide will be switched off, parents will "
           "continue to contact the school the official way, via the school telephone number or "
           "staff work email address.",
           f"{WIGHTWICK}, Questions about the school's Facebook page"),
    Clause("loughton.check-privacy", "Privacy settings are checked regularly",
           "Staff must review and adjust their privacy settings to give them the fullest level "
           "of privacy and confidentiality. ... This must be checked regularly to ensure privacy "
           "levels are maintained.",
           f"{LOUGHTON}, Staff use of social media, vii"),
    Clause("wightwick.accounts-belong-to-school", "The accounts belong to the school",
           "Social media accounts for the school remain property of the organisation. Named "
           "administrator will be required to provide the employer with full access to the "
           "accounts upon request and when the employer leaves the organisation.",
           f"{WIGHTWICK}, Using social media on behalf of Wightwick Hall School"),
    Clause("rochester.leadership-access", "Leadership holds the login details",
           "Leadership staff have access to account information and login details for our "
           "social media channels and manage the account.",
           f"{ROCHESTER}, 5. Official use of social media"),
    Clause("steward.format", "Steward's submission format",
           "A post is post.md with TOML front matter between +++ lines, the media it names, "
           "and approval signatures.",
           "Steward submission format, README, 'Writing a post'"),
)


@dataclass(frozen=True)
class RuleDefault:
    """A rule Steward enforces: its stable id, the clause it cites unless the school says
    otherwise, and what it does (the comment `steward config generate` writes beside it)."""

    id: str
    clause_id: str
    what: str


RULE_DEFAULTS: tuple[RuleDefault, ...] = (
    # Rules on posts (policies/*.py, one `RULE` each, and the findings they make).
    RuleDefault("submission-format", "steward.format", "a submission Steward cannot read as "
                "a post"),
    RuleDefault("media-files", "steward.format", "the media a post names are missing, too "
                "large or of a kind Steward does not take"),
    RuleDefault("location-metadata", "st-marys.no-geolocation", "location data in pictures "
                "(refused when it cannot be removed; removed from every picture published)"),
    RuleDefault("faces", "st-marys.no-faces", "photos showing a face (refused or blurred, as "
                "faces.policy says)"),
    RuleDefault("picture-size", "steward.format", "pictures too large to examine "
                "(faces.max_megapixels)"),
    RuleDefault("photo-consent", "st-marys.photo-consent", "a pupil pictured without photo "
                "consent, or missing from the consent register"),
    RuleDefault("restricted-list", "wightwick.restricted-list", "a pupil on the restricted "
                "list pictured"),
    RuleDefault("hidden-characters", "rochester.scrutiny", "invisible characters that hide "
                "what a post says"),
    RuleDefault("pupil-names", "st-marys.no-full-names", "a pupil's full name in a post"),
    RuleDefault("personal-data", "st-marys.no-personal-information", "phone numbers, e-mail "
                "addresses and home addresses in a post"),
    RuleDefault("links", "st-marys.known-organisations", "links to domains not allowed, or "
                "through shorteners"),
    RuleDefault("platform-fit", "steward.format", "a post too long, or with too many or too "
                "large pictures, for a platform"),
    RuleDefault("alt-text", "rochester.inclusive", "a picture without alt text"),
    RuleDefault("schedule", "steward.format", "a publish_at time Steward cannot use"),
    RuleDefault("slt-approval", "st-marys.slt-posts", "a post without a valid SLT "
                "signature (and every accepted post)"),
    RuleDefault("second-reader", "rochester.second-reader", "a post with fewer approvals "
                "than approval.approvals_required"),
    RuleDefault("duplicate", "steward.format", "a post already accepted once"),
    RuleDefault("internal-error", "steward.format", "a post Steward could not finish "
                "checking"),
    # What the daemon does on the accounts (audit events' `clause`).
    RuleDefault("publishing", "st-marys.slt-posts", "publishing an approved post, or holding "
                "it"),
    RuleDefault("moderation-evidence", "st-marys.copy-remove-report", "copying an abusive "
                "reply to the evidence store"),
    RuleDefault("moderation-removal", "st-marys.copy-remove-report", "hiding or deleting an "
                "abusive reply"),
    RuleDefault("moderation-sanction", "st-marys.block-or-report", "blocking or muting the "
                "author of an abusive reply"),
    RuleDefault("incident-log", "loughton.incident-log", "recording an incident in the "
                "eSafety incident log"),
    RuleDefault("followers", "st-marys.verified-followers", "verifying followers against the "
                "school office's list, and dealing with unverified ones"),
    RuleDefault("following", "st-marys.follows-organisations-only", "unfollowing accounts "
                "that are not known organisations"),
    RuleDefault("direct-messages", "wightwick.messaging-off", "direct messages that arrive "
                "although messaging is off"),
    RuleDefault("settings-x-protected", "st-marys.verified-followers", "keeping the X "
                "account protected"),
    RuleDefault("settings-x-geo-enabled", "st-marys.no-geolocation", "keeping location off "
                "X posts"),
    RuleDefault("settings-x-allow-dms-from", "wightwick.messaging-off", "keeping X direct "
                "messages closed"),
    RuleDefault("settings-x-discoverable-by-email", "st-marys.verified-followers", "keeping "
                "the X account from being found by e-mail address"),
    RuleDefault("settings-facebook-messaging", "wightwick.messaging-off", "keeping Facebook "
                "Page messaging off"),
    RuleDefault("credentials", "wightwick.accounts-belong-to-school", "escrow and handover "
                "of the accounts' credentials"),
)

DEFAULT_RULES: dict[str, str] = {rule.id: rule.clause_id for rule in RULE_DEFAULTS}
"""Every rule id, with the clause it cites unless the school's configuration says otherwise."""

DEFAULT_CATALOGUE = ClauseCatalogue.of(DEFAULT_CLAUSES, DEFAULT_RULES)
"""What an install that configures no policy cites: the clauses Steward has always cited."""
