"""The text the contextual model reads, the same when it is trained and when the daemon runs it.

A reply from the platform and a tweet in the training corpora differ in ways that have nothing
to do with abuse; the model would learn those differences instead of the abuse if they were left
in. So, in this order:

- HTML entities are decoded (the corpora hold "&amp;" and Davidson's "&#128514;"; an API may
  send "&lt;3"), twice at most, for text that was escaped twice;
- links become OLID's placeholder `URL`, and handles its `@USER` (OLID was anonymised that way;
  Davidson and the platforms were not); a retweet's "RT @someone:" becomes `@USER`, and a run
  of mentions (a reply in a thread starts with several) is kept once;
- the mentions a message starts with are dropped: they say whom a reply answers, not what it
  says, and nearly every OLID tweet starts with one while Davidson's and Steward's own cases do
  not, so a model that saw them learnt "@USER first, probably harmless" (a threat scored 1.00
  alone and 0.39 after "@OakfieldSchool");
- hashtags are split into their words ("#LiberalsAreIdiots" -> "Liberals Are Idiots",
  "#Trump2020" -> "Trump 2020"), because the hashtag is often the whole message and WordPiece
  would cut "LiberalsAreIdiots" into pieces that mean nothing;
- emoji are spelled out by their English names ("face with tears of joy", "United Kingdom
  flag"), since the encoder's vocabulary has almost none of them, skin tones left out and a
  run of one emoji kept once.

Names of emoji come from the `emoji` package (CLDR's short names, sequences such as flags and
families included), with Unicode's character names for any symbol it does not know. A
school's tuning of the model (`steward moderate train`) reads the same preparation.
"""

from __future__ import annotations

import html
import re
import unicodedata

import emoji

URL = re.compile(r"\b(?:https?://|https?:|www\.)\S*|\b(?:[\w-]+\.)+(?:com|org|net|co\.uk|"
                 r"org\.uk|ac\.uk|sch\.uk|gov\.uk|uk|ly|io|me)/\S*", re.IGNORECASE)
RETWEET = re.compile(r"\bRT\s+@\w{1,30}:?")
HANDLE = re.compile(r"(?<![\w@])@\w{1,30}")
MENTIONS = re.compile(r"@USER(?:[\s,:]*@USER\b)+")
LEADING_MENTION = re.compile(r"^\s*@USER\b[\s,:.]*")
HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|"
                   r"(?<=\d)(?=[A-Za-z])")
SKIN_TONE = re.compile(r"_(?:medium-light|medium-dark|light|medium|dark)_skin_tone")
INVISIBLE = {"\u200d", "\ufe0f", "\ufe0e", "\u20e3"}
MARK = "\x00"  # around a spelled-out name until runs of it are collapsed; never in a message
REPEATED_NAME = re.compile(r"(\x00[^\x00]+\x00)(?:\s*\1)+")


def prepare(text: str) -> str:
    """The message as the model reads it (see the module's docstring for each step)."""
    for _ in range(2):
        text = html.unescape(text)
    text = URL.sub(" URL ", text)
    text = RETWEET.sub(" @USER ", text)
    text = HANDLE.sub(lambda match: "@USER", text)
    text = MENTIONS.sub("@USER", text)
    text = LEADING_MENTION.sub("", text)
    text = HASHTAG.sub(lambda match: " " + CAMEL.sub(" ", match.group(1)).replace("_", " "),
                       text)
    text = spell_emoji(text)
    return re.sub(r"\s+", " ", text).strip()


def prepare_many(texts: list[str]) -> list[str]:
    return [prepare(text) for text in texts]


def _emoji_name(found: str, data: dict[str, str]) -> str:
    name = SKIN_TONE.sub("", data.get("en", "").strip(":"))
    if found and all(0x1F1E6 <= ord(letter) <= 0x1F1FF for letter in found):
        name += " flag"  # a pair of regional letters: the emoji package names the country
    return f"{MARK}{name.replace('_', ' ').lower()}{MARK}"


def spell_emoji(text: str) -> str:
    """Emoji replaced by their names, a run of the same one kept once; other pictographic
    symbols by their Unicode names; joiners and variation selectors dropped."""
    text = emoji.replace_emoji(text.replace(MARK, ""), replace=_emoji_name)
    spelled: list[str] = []
    for character in text:
        if character in INVISIBLE:
            continue
        if unicodedata.category(character) == "So":
            spelled.append(f"{MARK}{unicodedata.name(character, 'symbol').lower()}{MARK}")
        else:
            spelled.append(character)
    text = REPEATED_NAME.sub(r"\1", "".join(spelled))
    return text.replace(MARK, " ")
