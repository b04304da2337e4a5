"""Build the classifier's rules from the configuration (and the roster, for pupils' names)."""

from __future__ import annotations

from config.settings import StewardSettings
from daemon.posts.rosters import load_roster
from policies.findings import LinkRules
from policies.moderation import ModerationRules
from policies.roster import RosterError


def moderation_rules(settings: StewardSettings) -> ModerationRules:
    moderation = settings.moderation
    try:
        roster = load_roster(settings)
    except RosterError:
        roster = None  # publishing reports the broken roster; moderation still runs
    return ModerationRules(
        act_threshold=moderation.act_threshold,
        review_threshold=moderation.review_threshold,
        model_act=moderation.model_act,
        corroborated_model_act=moderation.corroborated_model_act,
        school_review=moderation.school_model_threshold,
        add_words=tuple(moderation.add_words),
        remove_words=tuple(moderation.remove_words),
        staff_names=tuple(moderation.staff_names),
        roster=roster,
        links=LinkRules(tuple(settings.links.allow_domains), tuple(settings.links.deny_domains),
                        tuple(settings.links.extra_shorteners)))
