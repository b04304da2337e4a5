"""Disguised words repaired toward the vocabulary of abuse, for the pattern layers.

policies.deobfuscation undoes the disguises that have one answer (leetspeak, spaced-out
letters, long runs of one letter). Three more need to know which word was meant, so they are
repaired here against a vocabulary (the school's word list, and the words of threats and
insults), and only into a word of it:

- asterisk masking: "b*tch", "ch*nk" (each * one or two letters);
- letters swapped: "kciking", "moorn", "soht" (one pair of neighbours swapped);
- letters doubled: "staabb" (every doubled letter written once);
- a letter left out: "kll", "strngle" (only in words with no vowel, or of six letters or more);
- spaces left out: "gettingstabbed", "arefilth" (split into everyday words and at least one of
  the vocabulary's).

Only words of four letters or more are repaired, and only into a word of the vocabulary of four
letters or more ("good" is not "god" with a letter doubled), so an
ordinary word is left as it is unless it is one swap from abuse ("ares" and "arse"); what the
layers find in the repaired message is checked against the model as any finding is
(policies.moderation.classifier.contextual_verdict), and mild words found only go to review.
"""

from __future__ import annotations

import re
from functools import lru_cache

from policies.deobfuscation import plain

# Words of threats and insults that are not swearing, so not in the school's word list.
ABUSE_WORDS = frozenset({
    "kill", "killing", "murder", "stab", "stabbed", "stabbing", "shoot", "shot", "shooting",
    "kick", "kicking", "punch", "punching", "beat", "beating", "batter", "battered", "hurt",
    "strangle", "choke", "slit", "throat", "dead", "die", "bomb", "burn", "torch", "knife",
    "gun", "smash", "bleed", "suffer", "moron", "idiot", "stupid", "loser", "pathetic",
    "disgrace", "scum", "trash", "garbage", "worthless", "useless", "incompetent", "ugly",
    "creep", "vermin", "animals", "parasite", "tosser", "liar", "liars", "cheat", "cheats",
    "imbecile", "cretin", "halfwit", "lowlife", "degenerate", "muppet", "numpty", "clown",
    "hanged", "hang", "beaten", "wreck", "snake", "nasty", "livestock", "pervert", "perverts",
    "freak", "freaks", "cancer", "plague", "filth", "filthy", "gassed", "drown", "parasites",
    "dogs", "rats", "slap", "blood", "brats", "waste", "excuse", "lying",
})
# The everyday words a message run together is made of ("gettingstabbed", "arefilth"): with
# the vocabulary above, what a run-together word may be split into.
EVERYDAY_WORDS = frozenset("""
a an the is are was were be been am to in on at of for with by from up down out off into
you your you're youre u ur he she him her his they them their we us our i i'll ill me my it
that this these those all every such so just really total utter absolute complete right
get gets getting got deserve deserves deserved make going gonna will shall should would
could can need needs want wants like full no not piece what who badly behaved bringing
people kids kid boy boys girl girls family families teacher teachers head school class
back home now here there and or but if when then than very more most
""".split())

_MASKED = re.compile(r"\b[a-z]+(?:[*#]+[a-z]*)+\b|\b[*#]+[a-z]+\b")
_WORD = re.compile(r"[a-z]+")
_DOUBLED = re.compile(r"([a-z])\1")


def repaired(text: str, vocabulary: frozenset[str]) -> str | None:
    """The message (lower case) with its disguised words repaired, or None when none was."""
    words = _vocabulary(vocabulary)
    base = plain(text)
    changed = _MASKED.sub(lambda match: _unmasked(match.group(), words), base)
    changed = _WORD.sub(lambda match: _respelled(match.group(), words), changed)
    changed = re.sub(r"[a-z']{7,}", lambda match: _split(match.group(), words), changed)
    return changed if changed != base else None


@lru_cache(maxsize=8)
def _vocabulary(vocabulary: frozenset[str]) -> frozenset[str]:
    return vocabulary | ABUSE_WORDS


def _unmasked(token: str, words: frozenset[str]) -> str:
    pattern = _mask_pattern(token)
    if pattern is None:
        return token
    found = sorted(word for word in words if pattern.fullmatch(word))
    return found[0] if found else token


@lru_cache(maxsize=512)
def _mask_pattern(token: str) -> re.Pattern[str] | None:
    letters = sum(character.isalpha() for character in token)
    if letters < 2 or len(token) < 3:
        return None
    pieces = re.split(r"[*#]+", token)
    gaps = re.findall(r"[*#]+", token)
    expression = pieces[0]
    for gap, piece in zip(gaps, pieces[1:], strict=True):
        expression += f"[a-z]{{{len(gap)},{len(gap) + 1}}}" + piece
    return re.compile(expression)


def _respelled(token: str, words: frozenset[str]) -> str:
    if len(token) < 3 or token in words or token in EVERYDAY_WORDS:
        return token
    swaps, shortened = _misspellings(words)
    if len(token) >= 4:
        for single in _undoubled(token):
            if len(single) >= 4 and single in words:  # "good" is not "god"
                return single
        if token in swaps:
            return swaps[token]
    # A letter left out: only where the word cannot be an ordinary one, with no vowel
    # ("kll", "strngl") or long ("parastes"); "cut" is not "c*nt" with a letter left out.
    if token in shortened and (not re.search(r"[aeiouy]", token) or len(token) >= 6):
        return shortened[token]
    return token


@lru_cache(maxsize=8)
def _misspellings(words: frozenset[str]) -> tuple[dict[str, str], dict[str, str]]:
    """For the vocabulary's words of four letters or more: each one with a pair of neighbours
    swapped, and each one with a letter left out, mapped back to the word (built once per
    vocabulary, so that repairing a message is a few dictionary lookups)."""
    swaps: dict[str, str] = {}
    shortened: dict[str, str] = {}
    for word in sorted(words, reverse=True):  # the first word alphabetically wins a tie
        if len(word) < 4 or not word.isalpha():
            continue
        for index in range(len(word) - 1):
            swapped = word[:index] + word[index + 1] + word[index] + word[index + 2:]
            if swapped != word:
                swaps[swapped] = word
        for index in range(len(word)):
            shortened[word[:index] + word[index + 1:]] = word
    return swaps, shortened


def _undoubled(token: str) -> list[str]:
    """The token with some or all of its doubled letters written once ("kiill": "kill",
    "kil"; "staabb": "stab", ...), fewest changes first; up to four doubles."""
    doubles = [match.start() for match in _DOUBLED.finditer(token)][:4]
    found = []
    for mask in range(1, 2 ** len(doubles)):
        chosen = {doubles[bit] for bit in range(len(doubles)) if mask >> bit & 1}
        found.append((len(chosen), "".join(character for index, character in enumerate(token)
                                           if index not in chosen)))
    return [text for _, text in sorted(found)]


# Ordinary words that split into abuse (the Scunthorpe problem), left whole.
NOT_RUN_TOGETHER = frozenset({"therapist", "therapists", "scunthorpe", "penistone",
                              "cockburn", "assassin", "assassins", "shitake"})


def _split(token: str, words: frozenset[str]) -> str:
    """A run-together word split into everyday words and at least one of the vocabulary's,
    or the word unchanged. The split with the fewest pieces wins."""
    if token in words or token in EVERYDAY_WORDS or token in NOT_RUN_TOGETHER:
        return token
    best: list[list[str] | None] = [[]] + [None] * len(token)
    for end in range(1, len(token) + 1):
        for start in range(max(0, end - 16), end):
            piece, before = token[start:end], best[start]
            if before is None or not (piece in EVERYDAY_WORDS or piece in words and
                                      len(piece) >= 3):
                continue
            if best[end] is None or len(before) + 1 < len(best[end] or []):
                best[end] = [*before, piece]
    pieces = best[len(token)]
    if pieces is None or len(pieces) < 2 or not any(piece in words and len(piece) >= 3
                                                    and piece not in EVERYDAY_WORDS
                                                    for piece in pieces):
        return token
    return " ".join(pieces)
