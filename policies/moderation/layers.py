"""The rule-based layers of the classifier. Each returns (score 0..1, reason) or None."""

from __future__ import annotations

import re

from policies.deobfuscation import plain, variants, words
from policies.findings import LinkRules
from policies.links import hosts, problem_with
from policies.moderation.threats import may_threaten, threatens
from policies.personal_data import EMAIL, PHONE, POSTCODE, STREET
from policies.roster import Roster, find_pupil_names

# What one layer says about a message: (score 0..1, reason), or None when it finds nothing.
Signal = tuple[float, str] | None

# Violence wished on someone rather than promised: "I'd love to punch that teacher", "he needs a
# slap", "hope the school burns down", "go die". The words allowed between ("love to", "really")
# and the targets keep "I'd hate to hurt her feelings", "I could kill for a coffee", "I'd love to
# shoot the nativity" and "hope these memories never die" out.
TARGET = r"(?:you|u|ya|him|her|them|that|the|this|your|ur|his|their|every|some|those|these)\b"
PERSON = r"(?:you|u|ya|him|her|them|that\s+(?!song|record|shot|goal|note|cold|bug)[a-z]+)\b"
WISHING = (r"(?:i'?d|i\s+would|i\s+want\s+to|i\s+wanna|i'?m\s+tempted\s+to|someone\s+(?:should|"
           r"needs\s+to|ought\s+to))\s+(?:(?:love|like|really|happily|gladly|just|so|want|to|"
           r"gonna|going|honestly)\s+){0,3}")
WISHED_VIOLENCE = re.compile(
    rf"\b{WISHING}(?:punch|slap|smack|stab|strangle|throttle|batter|hurt|knife|glass|lamp|torch)"
    rf"\s+{TARGET}|\b{WISHING}(?:kill|shoot|hit|beat\s+up|kick)\s+{PERSON}|"
    r"\b(?:needs?|deserves?|wants?|asking\s+for)\s+(?:a\s+|an\s+)?(?:good\s+|proper\s+|real\s+)?"
    r"(?:slap|punch|smack|kicking|beating|battering|hiding|thumping|bullet)\b(?!\s+(?:place|spot))|"
    r"\bhope\s+(?:(?!never\b|not\b)\w+\s+){0,6}(?:burns?\s+(?:down|to\s+the\s+ground)|"
    r"dies\b(?!\s+down)|die\b(?!\s+down)|gets?\s+(?:hurt|killed|shot|stabbed|run\s+over|cancer|"
    r"what'?s\s+coming|battered|beaten))|"
    r"\b(?:go|just|please)\s+(?:and\s+)?die\b|\bdrop\s+dead\b", re.IGNORECASE)
GROUPS = (r"muslims?|jews?|jewish|christians?|blacks?|whites?|asians?|gays?|lesbians?|trans|"
          r"immigrants?|foreigners?|refugees?|gypsies|gypsy|travellers?|travelers?|women|woman|"
          r"girls|disabled|autistic|pakis?|poles|polish|romanians?|africans?|mexicans?|indians?|"
          r"chinese|roma|migrants?|asylum(?:\s+seekers?)?")
IDENTITY = re.compile(
    rf"\b(?:all\s+)?(?:{GROUPS})\s+(?:are|r|should|must|need to)\s+(?:\w+\s+){{0,2}}"
    r"(?:animals?|vermin|rats?|scum|filth|parasites?|disgusting|subhuman|die|be\s+(?:killed|"
    r"deported|gassed|shot)|go\s+back|inferior|trash|garbage|dogs?|pigs?|cockroaches)\b|"
    rf"\b(?:go\s+back\s+to\s+(?:your|ur)\s+(?:own\s+)?country|(?:kill|gas|deport)\s+(?:all\s+)?"
    rf"(?:the\s+)?(?:{GROUPS}))\b", re.IGNORECASE)
# The shapes dehumanising and derogatory statements about a group take: "X are a cancer",
# "X people are freaks", "X shouldn't be allowed to", "X only care about money", "I wish every X
# would drown". Written from the training half of Steward's functional suite.
_GROUP = (rf"(?:(?:all|the|every|those|these|most)\s+)?(?:{GROUPS})(?:\s+(?:people|kids|"
          r"children|boys|girls|families|parents|men|pupils|staff|teachers|lot|mums|dads))?")
IDENTITY_SHAPES = re.compile("|".join((
    rf"\b{_GROUP}\s+(?:like\s+(?:her|him|them)\s+)?(?:are|r|is)\s+(?:(?:just|all|a|an|such|so|"
    r"nothing\s+but|basically|like)\s+){0,3}(?:freaks?|cancer|plague|disease|diseased|livestock|"
    r"perverts?|brats|pickpockets|thieves|criminals|troublemakers|parasites?|leeches|savages|"
    r"apes|monkeys|dogs|rats|filth|filthy|vermin|animals|scum|trash|dirty|liars|cheats|"
    r"breeding|invaders|a\s+drain|a\s+burden|a\s+danger\s+to\s+(?:children|kids))\b",
    rf"\b{_GROUP}\s+(?:shouldn'?t|should\s+not|must\s+not|mustn'?t)\s+be\s+allowed\b",
    rf"\b{_GROUP}\s+(?:never|don'?t|do\s+not)\s+care\s+about\b",
    rf"\b{_GROUP}\s+only\s+care\s+about\s+(?:money|themselves)\b",
    rf"\b{_GROUP}\s+(?:are|is)\s+(?:too|always|never)\s+(?:\w+\s+)?(?:emotional|stupid|thick|"
    r"lazy|violent|dirty|troublemakers|the\s+problem|the\s+troublemakers|up\s+to\s+no\s+good)\b",
    rf"\b{_GROUP}\s+(?:hold|holds|are\s+holding)\s+(?:everyone|everybody|the\s+rest|the\s+class|"
    r"the\s+school|us)(?:\s+else)?\s+back\b",
    rf"\b{_GROUP}\s+(?:are|is)\s+(?:dragging|bringing|pulling)\s+(?:the|this|our)\s+(?:\w+\s+)?"
    r"down\b",
    rf"\b{_GROUP}\s+(?:are|is)\s+ruining\b",
    r"\ba\s+(?:woman|muslim|black\s+\w+)\s+could\s+never\b",
    rf"\bwant\s+{_GROUP}\s+(?:gassed|deported|gone|dead|shot|killed|out)\b",
    rf"\bwish\s+{_GROUP}\s+(?:would|were|was)\s+(?:die|drown|dead|shot|gone|killed|deported)\b",
    rf"\bmake\s+{_GROUP}\s+suffer\b",
)), re.IGNORECASE)
INSULT_WORDS = (r"(?:idiot|moron|stupid|liar|loser|pathetic|disgrace|clown|scum|trash|garbage|"
                r"disgusting|ignorant|fool|hypocrite|coward|dumb|worthless|useless|incompetent|"
                r"ugly|fat|creep|pig|snake|vile|evil|nasty|joke|thick|muppet|div|numpty|parasite|"
                r"waste\s+of\s+space|imbecile|cretin|halfwit|nutcase|lowlife|degenerate)s?")
INSULT = re.compile(r"\b(?:you|u|ur|you're|youre|ya|he|she|they|this|that|what\s+a|such\s+a|"
                    rf"the)\b.{{0,25}}\b{INSULT_WORDS}\b", re.IGNORECASE)
INSULT_WORD = re.compile(rf"\b{INSULT_WORDS}\b", re.IGNORECASE)
# The same words in the shapes insults take when no pronoun comes first: "Mr Brown is a creep",
# "teachers here are thick", "a bunch of clowns", "get a real job, parasites".
INSULT_SHAPES = re.compile(
    rf"\b(?:is|are|r|was|were)\s+(?:such\s+|just\s+|all\s+|an?\s+|so\s+|total\s+|utter\s+|"
    rf"absolute\s+|complete\s+|bloody\s+){{0,3}}{INSULT_WORDS}\b|"
    rf"\b(?:bunch|lot|pack|load|set)\s+of\s+(?:\w+\s+)?{INSULT_WORDS}\b|"
    rf"\b{INSULT_WORDS}[\s,.!-]+(?:the\s+lot|all)\s+of\s+(?:you|them|us)\b",
    re.IGNORECASE)
# Swearing abbreviated past any word list: "f off", "eff off", "foad".
ABBREVIATED_SWEARING = re.compile(r"\b(?:f|eff|fk|fck)\s*(?:off|u|you)\b|\bfoad\b",
                                  re.IGNORECASE)
SPAM_PHRASES = re.compile(
    r"\b(?:click\s+(?:here|the\s+link)|free\s+(?:money|followers|iphone|gift)|crypto|bitcoin|"
    r"forex|investment\s+opportunity|dm\s+me\s+for|earn\s+\$?\d+|work\s+from\s+home|onlyfans|"
    r"promo\s+code|giveaway)\b", re.IGNORECASE)


def lexicon_layer(text: str, lexicon: frozenset[str], severe: frozenset[str]) -> Signal:
    found = words(text)
    found |= {word[:-1] for word in found if word.endswith("s")}  # lists hold the singular
    if found & severe:
        return 0.97, "severe-language"
    if found & lexicon or any(ABBREVIATED_SWEARING.search(v) for v in variants(text)):
        return 0.6, "profanity"  # alone, a moderator decides: the list has everyday words
    return None


def threat_layer(text: str) -> Signal:
    """Threats made, and violence wished on someone: both are acted on (Loughton: the account
    "will block or report any user that is disrespectful, offensive, inappropriate")."""
    if not may_threaten(words(text)):
        return None
    found = any(threatens(v) or WISHED_VIOLENCE.search(v) for v in variants(text))
    return (0.98, "threat-or-violence") if found else None


# A word every identity attack IDENTITY or IDENTITY_SHAPES finds holds (a group, or "country"
# in "go back to your country"): a message with none of them is not searched.
_IDENTITY_TRIGGERS = re.compile(rf"^(?:{GROUPS}|country|countries)$")


def identity_layer(text: str) -> Signal:
    if not any(_IDENTITY_TRIGGERS.match(word) for word in words(text)):
        return None
    found = any(IDENTITY.search(v) or IDENTITY_SHAPES.search(v) for v in variants(text))
    return (0.97, "identity-attack") if found else None


def insult_layer(text: str) -> Signal:
    folded = plain(text)
    return (0.6, "insult") if INSULT.search(folded) or INSULT_SHAPES.search(folded) else None


def staff_layer(text: str, staff: tuple[str, ...], lexicon: frozenset[str]) -> Signal:
    """A named member of staff in the same message as an insult or strong language."""
    if not staff:
        return None
    folded = plain(text)
    named = any(re.search(rf"\b{re.escape(plain(name))}\b", folded) for name in staff)
    if named and (INSULT_WORD.search(folded) or words(text) & lexicon):
        return 0.95, "harassment-of-staff"
    return None


def pupil_data_layer(text: str, roster: Roster | None) -> Signal:
    if roster is None or not len(roster):
        return None
    if find_pupil_names(text, roster):
        return 0.96, "names-a-pupil"
    if any(pattern.search(text) for pattern in (PHONE, EMAIL, POSTCODE, STREET)):
        return 0.7, "personal-data"
    return None


def spam_layer(text: str, link_rules: LinkRules) -> Signal:
    risky = [host for host in hosts(text) if problem_with(host, link_rules)]
    if risky:
        return 0.85, "suspicious-link"
    if SPAM_PHRASES.search(plain(text)):
        return 0.6, "spam"
    return None
