"""Turn post text into comparable words: accents, case, punctuation, possessives, hashtags and
CamelCase (#JaneSmith) all normalised, so that a name cannot slip through by spelling.

A text is also read the ways a disguised name would be written (`DISGUISED_READINGS`):
- with look-alike characters folded to the letters they imitate (Unicode TR39 skeletons, via
  `disarm`: Cyrillic "Јаnе", Greek "ΖΟΕ", "McDona|d", "A1ice");
- with obfuscation undone the way the moderation layer undoes it
  (policies.moderation.normalise: "J a n e", "J.a.n.e", "J4ne"), so there is one undoing of
  obfuscation in the project.
Every reading starts from the text as displayed (policies.displayed_text): a right-to-left
override read in display order, invisible characters read as spaces.

Each reading has a key for roster names too (the same folding applied to the name), and
names are matched key to key. Digits and symbols are read as letters only inside words, so
that numbers in ordinary text ("Year 3", "3-1", "5am") do not turn into names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import disarm

from policies import deobfuscation
from policies.displayed_text import as_displayed

_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*", re.UNICODE)
_POSSESSIVE = re.compile(r"['\u2019]s?$")
# Digits stand for letters only inside a word ("Am3lia", "4m3l1a", "Sm1th"), never on their own
# ("Year 3", "3-1", "12.10.2026", "10:30"), before a unit or an ordinal ("5am", "3D", "2nd",
# "10km") or after a single letter ("Y3", "P4", "A10"); the symbols that stand for letters
# ("J@ne", "$mith") only where a letter follows, not at the end of a word ("Well done Jane!").
_NUMBERS = re.compile(
    r"(?<![^\W\d_])\d++(?![^\W\d_])"
    r"|\b\d++(?=(?:am|pm|st|nd|rd|th|d|s|k|m|g|l|y|x|km|cm|mm|kg|ml|mph|yrs?)\b)"
    r"|(?<=\b[^\W\d_])\d++\b", re.IGNORECASE)
_TRAILING_SYMBOLS = re.compile(r"[!@$+€£|]+(?![^\W_])")


def fold(text: str) -> str:
    """Lower case without accents: 'Zoë' and 'ZOE' both become 'zoe'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def split_camel_case(text: str) -> str:
    """'#JaneSmith' -> '#Jane Smith', 'HTMLPage' -> 'HTML Page', in any alphabet."""
    spaced = []
    for index, character in enumerate(text):
        if index and character.isupper():
            before = text[index - 1]
            after = text[index + 1] if index + 1 < len(text) else ""
            if before.islower() or (before.isupper() and after.islower()):
                spaced.append(" ")
        spaced.append(character)
    return "".join(spaced)


def words(text: str) -> list[str]:
    """The words of `text` as displayed, folded, with CamelCase and hashtags split and
    possessives removed.

    'Well done #JaneSmith and Zoë O'Brien's team!' ->
    ['well', 'done', 'jane', 'smith', 'and', 'zoe', 'obrien', 'team']
    """
    text = split_camel_case(as_displayed(text).replace("_", " "))
    found = []
    for match in _WORD.finditer(text):
        word = _POSSESSIVE.sub("", match.group())
        word = fold(word).replace("'", "").replace("\u2019", "")
        if word:
            found.append(word)
    return found


def _letters_only_where_meant(text: str) -> str:
    return _TRAILING_SYMBOLS.sub(" ", _NUMBERS.sub(" ", text))


def look_alike_text(text: str) -> str:
    """`text` with every look-alike character replaced by the Latin letter it imitates, lower
    case: 'Јаnе Ѕmіth' (Cyrillic) -> 'jane smith', 'ΖΟΕ' (Greek) -> 'zoe', 'A1ice' -> 'alice',
    'McDona|d' -> 'mc donald', 'Arnelia' -> 'amelia' ('rn' reads as 'm').

    disarm.skeleton_key is Unicode TR39's skeleton made stable under case folding; the
    case-preserving fold before it lets a capital keep its capital's prototype (Greek 'Ι'
    reads as 'I', then 'i', not as 'l')."""
    text = split_camel_case(disarm.normalize_confusables(as_displayed(text)))
    text = _letters_only_where_meant(text)
    return disarm.skeleton_key(fold(text), digit_policy="tr39").replace("rn", "m")


def _look_alike_words(text: str) -> list[list[str]]:
    return [words(look_alike_text(text))]


def _deobfuscated_words(text: str) -> list[list[str]]:
    prepared = split_camel_case(disarm.normalize_confusables(as_displayed(text)))
    return [words(variant)
            for variant in deobfuscation.variants(_letters_only_where_meant(prepared))]


def _look_alike_key(key: str) -> str:
    return "".join(words(look_alike_text(key)))


def _deobfuscated_key(key: str) -> str:
    return "".join(words(deobfuscation.plain(disarm.normalize_confusables(key))))


@dataclass(frozen=True)
class Reading:
    """One way of reading a text: the word lists it gives, and the same reading of a roster
    name key ("maryjane", "obrien")."""

    disguise: str  # how a name found only this way was disguised, for the finding
    word_lists: Callable[[str], list[list[str]]]
    key: Callable[[str], str]
    run_together: bool  # look for a first name and surname written as one word


# Look-alike folding merges letters ('rn' reads as 'm'), so in one word it finds names that
# are not there ("album" would be "Al Burn"): names run together are looked for as written
# and with obfuscation undone ("J a n e S m i t h" becomes "janesmith"), not in look-alikes.
DISGUISED_READINGS = (
    Reading("written with look-alike characters", _look_alike_words, _look_alike_key, False),
    Reading("written with letters spaced or dotted apart, or digits or symbols for letters",
            _deobfuscated_words, _deobfuscated_key, True),
)
