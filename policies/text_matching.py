"""Turn post text into comparable words: accents, case, punctuation, possessives, hashtags and
CamelCase (#JaneSmith) all normalised, so that a name cannot slip through by spelling."""

from __future__ import annotations

import re
import unicodedata

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*", re.UNICODE)
_POSSESSIVE = re.compile(r"['\u2019]s?$")


def fold(text: str) -> str:
    """Lower case without accents: 'Zoë' and 'ZOE' both become 'zoe'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def words(text: str) -> list[str]:
    """The words of `text`, folded, with CamelCase and hashtags split and possessives removed.

    'Well done #JaneSmith and Zoë O'Brien's team!' ->
    ['well', 'done', 'jane', 'smith', 'and', 'zoe', 'obrien', 'team']
    """
    text = _CAMEL.sub(" ", text.replace("_", " "))
    found = []
    for match in _WORD.finditer(text):
        word = _POSSESSIVE.sub("", match.group())
        word = fold(word).replace("'", "").replace("\u2019", "")
        if word:
            found.append(word)
    return found
