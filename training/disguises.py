"""The disguises people use to get abuse past a filter, applied to one word of a message.

Two users: the functional suite's generator (tests/moderation/functional/generate_disguises.py),
which disguises the word each hand-written abusive case names, and, later, training, which
disguises words on the fly so that the model learns "k1ll" and "i d i o t" as well as the plain
spelling. Each disguise takes the message, the word and a `random.Random` (the caller seeds it,
so the same seed gives the same text) and returns the disguised message; the word is matched
without regard to case, and only its first occurrence is changed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

VOWELS = "aeiou"
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7", "l": "1", "g": "9"}
# For a word with none of those letters ("fuck", "cunt"): shapes that look like the letter.
LEET_SHAPES = {"u": "v", "c": "(", "k": "|<", "b": "8", "h": "#", "n": "|\\|"}


def _locate(text: str, word: str) -> tuple[int, int]:
    match = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE) or re.search(
        re.escape(word), text, re.IGNORECASE)
    if match is None:
        raise ValueError(f"the word to disguise is not in the message: {word!r}")
    return match.start(), match.end()


def _replace_word(text: str, word: str, change: Callable[[str], str]) -> str:
    start, end = _locate(text, word)
    return text[:start] + change(text[start:end]) + text[end:]


def swapped(text: str, word: str, rng: random.Random) -> str:
    """Two different neighbouring letters inside the word change places ("kill" -> "klil");
    the first letter stays, as it does in the misspellings people read past."""
    def change(found: str) -> str:
        places = [i for i in range(1, len(found) - 1) if found[i] != found[i + 1]]
        if not places:
            places = [i for i in range(len(found) - 1) if found[i] != found[i + 1]]
        if not places:
            return found
        i = rng.choice(places)
        return found[:i] + found[i + 1] + found[i] + found[i + 2:]
    return _replace_word(text, word, change)


def dropped(text: str, word: str, rng: random.Random) -> str:
    """One letter inside the word left out, a vowel when there is one ("idiot" -> "idot")."""
    def change(found: str) -> str:
        inner = list(range(1, len(found) - 1)) or list(range(len(found)))
        vowels = [i for i in inner if found[i].lower() in VOWELS]
        i = rng.choice(vowels or inner)
        return found[:i] + found[i + 1:] if len(found) > 2 else found
    return _replace_word(text, word, change)


def doubled(text: str, word: str, rng: random.Random) -> str:
    """One or two letters of the word written twice ("kill" -> "kiill", "scum" -> "sccumm")."""
    def change(found: str) -> str:
        places = sorted(rng.sample(range(len(found)), k=min(len(found), rng.choice((1, 2)))))
        for offset, i in enumerate(places):
            i += offset
            found = found[:i + 1] + found[i] + found[i + 1:]
        return found
    return _replace_word(text, word, change)


def leetspeak(text: str, word: str, rng: random.Random) -> str:
    """Letters of the word replaced by the digits and signs that look like them ("k1ll")."""
    def change(found: str) -> str:
        table = LEET if any(letter.lower() in LEET for letter in found) else LEET_SHAPES
        places = [i for i, letter in enumerate(found) if letter.lower() in table]
        if not places:
            return found
        chosen = set(rng.sample(places, k=max(1, min(len(places), rng.choice((1, 2, 3))))))
        return "".join(table[letter.lower()] if i in chosen else letter
                       for i, letter in enumerate(found))
    return _replace_word(text, word, change)


def spaced(text: str, word: str, rng: random.Random) -> str:
    """The word's letters spaced out, or joined by dots ("k i l l", "k.i.l.l")."""
    joiner = rng.choice((" ", " ", "."))
    return _replace_word(text, word, joiner.join)


def missing_spaces(text: str, word: str, rng: random.Random) -> str:
    """The word run together with its neighbours ("gofuckyourself"): the spaces between it and
    one or two words either side are removed."""
    start, _ = _locate(text, word)
    parts = re.split(r"(\s+)", text)  # words at even places, the spaces between at odd ones
    position, at = 0, 0
    for index, part in enumerate(parts):
        if position + len(part) > start:
            at = index - index % 2
            break
        position += len(part)
    reach = 2 * rng.choice((1, 2))
    first, last = max(0, at - reach), min(len(parts), at + reach + 1)
    joined = "".join(part for part in parts[first:last] if not part.isspace())
    return "".join(parts[:first]) + joined + "".join(parts[last:])


def masked(text: str, word: str, rng: random.Random) -> str:
    """A letter or two inside the word replaced by asterisks, vowels first ("f*ck", "k*ll")."""
    def change(found: str) -> str:
        inner = list(range(1, len(found) - 1)) or list(range(len(found)))
        vowels = [i for i in inner if found[i].lower() in VOWELS]
        pool = vowels or inner
        chosen = set(rng.sample(pool, k=min(len(pool), rng.choice((1, 1, 2)))))
        return "".join("*" if i in chosen else letter for i, letter in enumerate(found))
    return _replace_word(text, word, change)


# The disguises by the name the functional suite's files use (disguise-<name>.csv).
DISGUISES: dict[str, Callable[[str, str, random.Random], str]] = {
    "swapped-letters": swapped,
    "dropped-letters": dropped,
    "doubled-letters": doubled,
    "leetspeak": leetspeak,
    "spaced-letters": spaced,
    "missing-spaces": missing_spaces,
    "asterisk-masking": masked,
}
