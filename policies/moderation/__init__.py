"""Classify replies and comments left on the school's posts: allow, review or act.

Layers, each a pure function over text: an obfuscation-aware lexicon (a packaged word list plus
the school's own additions and removals), threats and violence, identity attacks, harassment of
named staff, pupils' personal data, spam links, and an offline model shipped inside a PyPI
package (alt-profanity-check). Reasons name layers, never the words that triggered them, so a
verdict can be logged without repeating abuse.
"""

from policies.moderation.classifier import ModerationRules, Verdict, classify, classify_many

__all__ = ["ModerationRules", "Verdict", "classify", "classify_many"]
