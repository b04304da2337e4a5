"""Undo the tricks people use to slip words past filters: leetspeak (sh1t, @ss), repeated
letters (stuuupid), inserted spaces or symbols (f u c k, f.u.c.k, f*ck), homoglyphs (Cyrillic
'а' for Latin 'a'), accents and case.

Read by moderation (policies.moderation.layers) and by the pupil-name check
(policies.text_matching). It sits below both, in no package of its own, so that the name check
does not import the moderation package, whose classifier imports the roster, which imports the
name check.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                      "9": "g", "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e",
                      "£": "l"})
HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ο": "o", "ν": "v", "α": "a", "ε": "e",
    "ρ": "p", "τ": "t", "κ": "k", "ι": "i", "к": "k", "м": "m", "т": "t", "в": "b", "н": "h",
})
_SPACED = re.compile(r"\b(?:[a-z][\s._*\-]){2,}[a-z]\b")
_INNER_SYMBOLS = re.compile(r"(?<=[a-z])[.*_\-]+(?=[a-z])")
_RUNS = re.compile(r"(.)\1{2,}")
_WORD = re.compile(r"[a-z]+")


@lru_cache(maxsize=1024)
def plain(text: str) -> str:
    """Lower case, no accents, homoglyphs mapped to Latin letters."""
    text = unicodedata.normalize("NFKC", text).translate(HOMOGLYPHS)
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


@lru_cache(maxsize=1024)  # every layer asks for the same message's variants: undo once
def variants(text: str) -> tuple[str, ...]:
    """The word sequences to check: as written, and with every obfuscation undone."""
    base = plain(text)
    decoded = base.translate(LEET)
    joined = _SPACED.sub(lambda m: re.sub(r"[\s._*\-]", "", m.group()), decoded)
    joined = _INNER_SYMBOLS.sub("", joined)
    squeezed = _RUNS.sub(r"\1\1", joined)
    single = _RUNS.sub(r"\1", joined)
    return tuple(dict.fromkeys([base, joined, squeezed, single]))


@lru_cache(maxsize=1024)
def words(text: str) -> frozenset[str]:
    """Every word in every variant of `text`."""
    found: set[str] = set()
    for variant in variants(text):
        found.update(_WORD.findall(variant))
    return frozenset(found)
