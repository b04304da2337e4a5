"""Threats, in the shapes people write them: promised harm, harm to a body part, harm foretold
("that boy is getting stabbed"), "you're dead", the idioms of intimidation ("your days are
numbered", "I know where you live"), and threats against the school itself.

A threat against a child or a member of staff must never be left standing (issue 20): this
layer finds the shapes, and the contextual model decides with it whether Steward acts or a
moderator does (policies.moderation.classifier.contextual_verdict): quoted, negated or
condemned threats read as harmless to the model and go to review, never straight to a hide.

The shapes were written from the training half of Steward's functional suite and from what
threat-assessment guidance lists as intimidation (implied, conditional and veiled threats); the
held-out half measures them (benchmarks/moderation_functional.py). The patterns read the
message lower-cased with its disguises undone (policies.deobfuscation.variants), so "I'll
st4b u" and "i l l  k i l l  y o u" are the same message.
"""

from __future__ import annotations

import re

# Who promises: "I'll", "I am going to", "gonna", "we will", "someone is going to".
_PROMISE = (r"(?:\bi(?:'ll|\s+will|\s+shall|'m\s+going\s+to|m\s+going\s+to|\s+am\s+going\s+to|"
            r"'m\s+gonna|m\s+gonna|\s+am\s+gonna|\s+gonna)|\bwe(?:'ll|\s+will|"
            r"'re\s+going\s+to|\s+are\s+going\s+to|'re\s+gonna|\s+are\s+gonna|\s+gonna)|"
            r"^\s*gonna|\b(?:someone|somebody)(?:'s|\s+is)?\s+(?:going\s+to|gonna))")
# What may come between the promise and the harm, but not a "not": "I will never hurt you".
_GAP = r"(?:(?!not\b|never\b)\w+\s+){0,2}"
# Whom: a person, by pronoun, title or role.
_PERSON = (r"(?:you|u|ya|yer|him|her|them|someone|somebody|everyone|everybody|y'all|"
           r"(?:mrs|mr|miss|ms|sir|dr)\s+\w+|"
           r"(?:the|that|this|your|ur|his|her|their|every)\s+(?:\w+\s+)?(?:teachers?|head|"
           r"headteacher|head\s+teacher|deputy|kids?|boys?|girls?|child(?:ren)?|sons?|"
           r"daughters?|senco|tutor|staff|family|receptionist|caretaker|lad|lass|woman|man|"
           r"assistant|ta|lunch\s+lady|dinner\s+lady|coach|governors?|"
           r"bitch|bastard|prick|idiot|cow))\b")
# Harm done to a person, whoever is named: words with no everyday meaning against a person.
_HARM = (r"(?:kill|murder|hurt|stab|shoot|punch|batter|slap|strangle|choke|knife|thump|bash|"
         r"throttle|drown|beat\s+up)")
# Words that are harm only against a pronoun ("I'll cut you", not "they will cut the teachers'
# pay"; "we'll smash them" is as often football).
_HARM_PRONOUN = (r"(?:beat|smash|attack|glass|deck|floor|end|finish|bury|cut|slit|slash|jump|hit|"
                 r"kick|hang|get\s+rid\s+of)")
_PRONOUN = r"(?:you|u|ya|yer|him|her|them|someone|somebody|y'all)\b"
_BODY = (r"(?:necks?|throats?|faces?|heads?|skulls?|jaws?|teeth|noses?|legs?|arms?|kneecaps?|"
         r"brains?|fingers?|ribs?)")
_PROPERTY = r"(?:house|home|car|windows?|place|school|building|shop|van|flat|door)"

THREAT = re.compile("|".join((
    # "I'm going to make you bleed", "I'll cut you", "gonna run you over"
    rf"{_PROMISE}\s+{_GAP}{_HARM}\s+{_PERSON}",
    rf"{_PROMISE}\s+{_GAP}{_HARM_PRONOUN}\s+{_PRONOUN}(?!\s+(?:at|in|on)\s+"
    r"(?:football|rugby|netball|chess|cricket|the\s+match|the\s+game))",
    rf"{_PROMISE}\s+{_GAP}(?:run|sort|do|mess|hunt)\s+{_PERSON}\s+(?:over|out|in|up|"
    r"down)\b",
    rf"{_PROMISE}\s+{_GAP}make\s+{_PERSON}\s+(?:\w+\s+)?(?:bleed|suffer|pay)\b",
    rf"{_PROMISE}\s+{_GAP}put\s+{_PERSON}\s+in\s+(?:hospital|the\s+ground|a\s+box|"
    r"a\s+wheelchair)\b",
    # "break your neck", "kick his head in": harm to a body part, whoever speaks
    rf"\b(?:break|snap|slit|cut|smash|bash|cave|kick|punch|rip|stamp\s+on)\s+(?:your|ur|yer|his|"
    rf"her|their|(?:that|the|this)\s+\w+'s)\s+(?:\w+\s+)?{_BODY}\b",
    # "I will torch your house", "burn the place down"
    rf"{_PROMISE}\s+{_GAP}(?:torch|burn|smash|wreck|firebomb|petrol\s+bomb|"
    rf"brick|trash)\s+(?:your|ur|his|her|their|the|that|this|every)\s+(?:\w+\s+)?{_PROPERTY}\b",
    r"\b(?:burn|torch)\s+(?:the\s+place|it|this\s+school|that\s+school|the\s+(?:whole\s+)?"
    r"(?:school|place|building))\s+down\b",
    # Harm foretold: "that boy is getting stabbed", "the SENCO will get what's coming"
    r"\b(?:is|are|'s|will|'ll|gonna|going\s+to)\s+(?:be\s+)?(?:get(?:ting)?\s+|be\s+)"
    r"(?:hurt|stabbed|shot|killed|beaten(?:\s+up)?|battered|jumped|done\s+in|glassed|knifed|"
    r"murdered|what'?s\s+coming)\b",
    r"\bget(?:s)?\s+what'?s\s+coming\b",
    r"\b(?:should|deserve[sd]?\s+to|ought\s+to)\s+(?:die|be\s+(?:shot|killed|hanged|hung|burned|"
    r"beaten(?:\s+up)?|hurt|stabbed|punched|slapped|battered|whipped|thrashed|put\s+down|"
    r"strung\s+up))\b",
    # "you're dead", "he's dead on Monday"
    r"\b(?:you'?re|you\s+are|ur|he'?s|he\s+is|she'?s|she\s+is|they'?re|they\s+are)\s+dead\s+"
    r"(?:meat|on\s+\w+|tomorrow|tonight|when|if|after|next|now|mate)\b",
    r"\b(?:you'?re|you\s+are|ur)\s+dead\s*[.!]*\s*$",
    r"\band\s+(?:you'?re|you\s+are|ur|he'?s|she'?s|they'?re)\s+dead\b",
    # the idioms of intimidation
    r"\b(?:your|ur|his|her|their)\s+days\s+are\s+numbered\b",
    r"\bsleep\s+with\s+one\s+eye\s+open\b",
    r"\bwatch\s+(?:your|ur|yer|his|her|their)\s+backs?\b",
    r"\b(?:you|u|they|he|she)\s+won'?t\s+see\s+(?:it|me|us|them)\s+coming\b",
    r"\b(?:keep|carry\s+on|try\s+(?:it|that))\s+(?:\w+\s+){0,2}and\s+(?:see|you'?ll\s+see|watch)\s+"
    r"what\s+happens\b",
    r"\b(?:be|it'?d\s+be|would\s+be)\s+a\s+(?:real\s+)?(?:shame|pity)\s+if\b",
    r"\bi\s+know\s+(?:where|which|what\s+time|when)\s+(?:you|u|your|ur|he|she|they|his|her|"
    r"(?:mrs|mr|miss|ms|sir)\s+\w+)\b",
    r"\bi\s+know\s+where\s+(?:\w+\s+){1,3}(?:lives?|works?|parks?|goes)\b",
    r"\bi\s+know\s+(?:which|what)\s+(?:car|house|door|bus)\s+(?:is|are)\s+(?:yours|his|hers|"
    r"theirs)\b",
    r"\bwait(?:ing)?\s+(?:for\s+(?:you|u|him|her|them|(?:your|ur|his|her|their)\s+\w+|"
    r"(?:mrs|mr|miss|ms|sir)\s+\w+)\s+)?(?:outside|at|in|after)\s+(?:your|ur|his|her|their|the)\s+"
    r"(?:\w+\s+)?(?:house|home|gates?|car\s*park|school|work|flat|door)\b",
    r"\b(?:friends|mates|people|lads|family|boys)\s+who(?:'ll|\s+will|\s+can)\s+(?:sort|deal\s+with|"
    r"do|handle)\s+(?:you|u|him|her|them)\b",
    r"\bwhat'?s\s+coming\s+to\s+(?:you|u|him|her|them)\b",
    r"\benjoy\s+(?:your|ur)\s+(?:walk|drive|journey|trip)\s+home\b",
    r"\bcareful\b.{0,40}\bif\s+i\s+(?:were|was)\s+you\b",
    r"\b(?:someone|somebody|people|you)\s+(?:will|'ll|is\s+going\s+to|'s\s+going\s+to|are\s+going\s+to|"
    r"is\s+gonna|are\s+gonna)\s+get\s+(?:hurt|shot|stabbed|killed)\b",
    r"\b(?:wait|just\s+wait)\s+(?:till|until|til)\s+i\s+get\s+(?:my\s+hands\s+on|hold\s+of)\b",
    r"\b(?:will|'ll|gonna)\s+be\s+sorry\s+(?:when|if)\b",
    r"\bcoming\s+for\s+(?:you|u|him|her|them|your|ur)\b",
    # against the school
    r"\b(?:a\s+)?bomb\s+(?:in|at|under|inside)\s+(?:the|that|this|your)\b",
    r"\bshoot(?:ing)?\s+up\s+(?:the|that|this|your)\s+(?:\w+\s+)?(?:school|place|class|hall)\b",
    r"\b(?:drive|drove|ram|plough|plow)\s+(?:my|a|the)\s+(?:car|van|truck|lorry)\s+(?:through|into)\b",
    r"\bpay\s+for\s+(?:this|it)\s+in\s+blood\b",
    r"\bbring\s+(?:a|my|the)\s+(?:knife|gun|weapon|blade|machete|bat|shotgun)\s+(?:to|into|in)\b",
    r"\bgas\s+the\s+(?:whole\s+)?(?:school|place|lot)\b",
    r"\b(?:wreck|destroy|blow\s+up|burn)\s+(?:that|this|the)\s+school\s+and\s+everyone\b",
    r"\bon\s+the\s+news\s+for\s+the\s+wrong\s+reasons\b",
    # from before: "I'll find you", "kill yourself", "you'll regret it", "burn the school"
    r"\b(?:i(?:'ll|\s+will|'m\s+going\s+to|\s+am\s+going\s+to|m\s+gonna|\s+gonna)|we(?:'ll|\s+will|"
    r"\s+are\s+going\s+to))\s+(?:\w+\s+){0,2}(?:find|get|come\s+for|come\s+after)\s+(?:you|u|ya|"
    r"him|her|them)\b(?!\s+(?:a|an|some|the|at|on|in|to)\b)",
    r"\bkill\s+(?:your\s*self|u|you|urself)\b|\bkys\b",
    r"\b(?:you|u)(?:'ll|\s+will)\s+(?:regret\s+(?:it|this)|pay\s+for|be\s+sorry)\b",
    r"\bburn\s+(?:the|your)\s+school\b|\bbomb\s+(?:the|your)\b",
    r"\b(?:wait|see)\s+(?:for\s+)?(?:you|u)\s+after\s+school\b",
)), re.IGNORECASE)


# At least one of these words is in every threat THREAT finds (or the stem of one: "stabbed"
# has "stab"): a message with none of them is not searched, which keeps the layers at well over
# a thousand replies a second (benchmarks/moderation_speed.py).
TRIGGERS = frozenset("""
kill murder hurt stab shoot punch batter slap strangle choke knife thump bash throttle drown
beat smash attack glass deck floor end finish bury cut slit slash jump hit kick hang rid run
sort do mess hunt make put break snap cave rip stamp torch burn wreck firebomb petrol brick
trash getting get gets stabbed shot killed beaten battered jumped glassed knifed murdered
coming die dead days numbered sleep eye watch back backs see happens shame pity know wait
waiting friends mates people lads family boys enjoy careful sorry bomb drive drove ram plough
plow pay blood bring gas blow destroy news find come kys regret after smack lamp kicking
beating battering hiding thumping bullet burns dies cancer drop
""".split())


def may_threaten(words: frozenset[str]) -> bool:
    """Whether a message with these words (every reading's) could hold a threat at all."""
    return any(word in TRIGGERS or word[:4] in _STEMS for word in words)


_STEMS = frozenset(word[:4] for word in TRIGGERS if len(word) >= 4)


def threatens(variant: str) -> bool:
    """Whether one reading of a message (lower case, disguises undone) makes a threat."""
    return THREAT.search(variant.replace("\u2019", "'")) is not None
