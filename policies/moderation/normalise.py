"""What the school's own moderation model reads (`for_encoder`), and, from
policies.deobfuscation, the readings of a message with its disguises undone (`plain`,
`variants`, `words`), which moderation's layers use."""

from __future__ import annotations

import re
import unicodedata

from policies.deobfuscation import plain, variants, words

__all__ = ["for_encoder", "plain", "variants", "words"]

_REPEATED_MENTIONS = re.compile(r"(?:@USER\b\s*){2,}")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_HASHTAG = re.compile(r"#(\w+)")
_JOINERS = {"\u200d", "\ufe0f", "\ufe0e"}


def for_encoder(text: str) -> str:
    """What the school's model reads: emoji spelled out by their Unicode names (the encoder's
    vocabulary has none of them: "😂" would be an unknown token), CamelCase hashtags split into
    words ("#LiberalsAreIdiots" -> "# Liberals Are Idiots"), a run of placeholder mentions
    (OLID's "@USER @USER @USER") and of one emoji kept once. The same text goes to the model
    when it is trained and when the daemon runs it; OffensEval's best systems did the same."""
    text = _REPEATED_MENTIONS.sub("@USER ", text)
    text = _HASHTAG.sub(lambda match: "# " + _CAMEL.sub(" ", match.group(1)), text)
    spelled: list[str] = []
    previous = ""
    for character in text:
        category = unicodedata.category(character)
        if character in _JOINERS or category == "Sk" and ord(character) > 0x1F000:
            continue  # zero-width joiners, variation selectors, skin tones
        if category == "So":
            name = ("flag" if 0x1F1E6 <= ord(character) <= 0x1F1FF  # a flag is two letters
                    else unicodedata.name(character, "").lower())
            if name != previous:
                spelled.append(f" {name} ")
            previous = name
            continue
        previous = character
        spelled.append(character)
    return re.sub(r"\s+", " ", "".join(spelled)).strip()
