"""What a reader sees of a text, and the characters in it that a reader cannot see.

Some characters change the order in which text is shown (bidi controls: a right-to-left override
makes "htims enaj" display as "jane smith") and some show as nothing at all (zero-width spaces,
the Hangul fillers, soft hyphens, tag characters, stray variation selectors). Either can make a
post say something different to its readers than to the people who approved it and to
Steward's own checks, so `hidden_characters` finds them and the hidden-characters rule refuses
them; `as_displayed` gives the text the name and link checks should read. For showing text that
others chose (names of posts and files, handles) to people, `visible` spells such characters out
as escapes, and `unsafe_character` is what a name may not hold.

Emoji and some scripts use a few of these characters legitimately, and those uses are allowed:
a zero width joiner between emoji (👨‍👩‍👧), a variation selector after a symbol that has an emoji
form (❤️, 1️⃣), the tag characters of the England, Scotland and Wales flags, and the joiners that
Arabic-script and Indic words need (RFC 5892's CONTEXTJ rules, as implemented by `idna`).

Pure: this module imports no other part of Steward, so text matching can use it too.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from idna import IDNAError, valid_contextj

ZERO_WIDTH_JOINER = "\u200d"
ZERO_WIDTH_NON_JOINER = "\u200c"
EMOJI_PRESENTATION = "\ufe0f"
TEXT_PRESENTATION = "\ufe0e"
RIGHT_TO_LEFT_OVERRIDE = "\u202e"
BLACK_FLAG = "\U0001f3f4"
CANCEL_TAG = "\U000e007f"

DIRECTION_CONTROLS = frozenset(
    [chr(code) for code in range(0x202A, 0x202F)]      # LRE RLE PDF LRO RLO
    + [chr(code) for code in range(0x2066, 0x206A)]    # LRI RLI FSI PDI
    + ["\u200e", "\u200f", "\u061c"])                  # LRM RLM ALM
# Characters that show as nothing (or as a blank that is not a space) besides the format
# controls (category Cf), which are all hidden: fillers, the soft hyphen, joiners in
# disguise, and the blank braille cell that social media users put in "empty" names.
BLANKS = frozenset(["\u00ad", "\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u180b",
                    "\u180c", "\u180d", "\u180e", "\u180f", "\u2800", "\u3164", "\uffa0"])
# Line breaks and tabs are how text is laid out; every other control character is hidden.
LAYOUT = frozenset("\n\t")


@dataclass(frozen=True)
class HiddenCharacter:
    """One hidden character: where it is (0-based index, 1-based line and column) and what."""

    index: int
    line: int
    column: int
    character: str
    changes_direction: bool

    @property
    def label(self) -> str:
        """'U+200B ZERO WIDTH SPACE', the way Unicode names the character."""
        name = unicodedata.name(self.character, "") or _CONTROL_NAMES.get(
            self.character, "CONTROL CHARACTER")
        return f"U+{ord(self.character):04X} {name}"


_CONTROL_NAMES = {"\x00": "NULL", "\x07": "BELL", "\x08": "BACKSPACE", "\x0b": "LINE TABULATION",
                  "\x0c": "FORM FEED", "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE",
                  "\x7f": "DELETE", "\x85": "NEXT LINE"}


def _is_variation_selector(character: str) -> bool:
    code = ord(character)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


def _is_tag(character: str) -> bool:
    return 0xE0000 <= ord(character) <= 0xE007F


def _looks_hidden(character: str) -> bool:
    if character in LAYOUT:
        return False
    category = unicodedata.category(character)
    return (character in DIRECTION_CONTROLS or character in BLANKS or category in ("Cf", "Cc")
            or _is_variation_selector(character) or _is_tag(character))


def is_pictographic(character: str) -> bool:
    """Whether `character` can be (part of) an emoji: the emoji blocks, including code points
    newer than this Python's Unicode data, and the older symbols that have an emoji form."""
    code = ord(character)
    return (0x1F000 <= code <= 0x1FAFF or 0x2190 <= code <= 0x2BFF or 0x3030 <= code <= 0x303D
            or code in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3297, 0x3299)
            or unicodedata.category(character) == "So")


def _is_emoji_part(character: str) -> bool:
    """Something a ZWJ may follow inside an emoji sequence: an emoji, its presentation
    selector, or a skin-tone modifier."""
    return character == EMOJI_PRESENTATION or is_pictographic(character)


def _joiner_needed_by_script(text: str, index: int) -> bool:
    start, end = max(0, index - 30), min(len(text), index + 31)
    try:
        return valid_contextj(text[start:end], index - start)
    except (ValueError, IDNAError):
        return False


def _allowed(text: str, index: int, flag_tags: set[int]) -> bool:
    """Whether the hidden-looking character at `index` is one of the legitimate uses."""
    character = text[index]
    before = text[index - 1] if index else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if character == ZERO_WIDTH_JOINER:
        if before and after and _is_emoji_part(before) and is_pictographic(after):
            return True
        return _joiner_needed_by_script(text, index)
    if character == ZERO_WIDTH_NON_JOINER:
        return _joiner_needed_by_script(text, index)
    if character in (EMOJI_PRESENTATION, TEXT_PRESENTATION):
        keycap = before in "0123456789#*" and after == "\u20e3"
        return bool(before) and (is_pictographic(before) or keycap)
    if _is_variation_selector(character):  # standardized and ideographic variants
        return bool(before) and (unicodedata.category(before) == "Sm"
                                 or unicodedata.name(before, "").startswith("CJK"))
    return index in flag_tags


def _flag_tags(text: str) -> set[int]:
    """Indexes of the tag characters that spell a subdivision flag: 🏴 + tags + cancel tag."""
    allowed: set[int] = set()
    for start, character in enumerate(text):
        if character != BLACK_FLAG:
            continue
        end = start + 1
        while end < len(text) and _is_tag(text[end]) and text[end] != CANCEL_TAG:
            end += 1
        if end < len(text) and text[end] == CANCEL_TAG and end > start + 1:
            allowed.update(range(start + 1, end + 1))
    return allowed


def hidden_characters(text: str) -> list[HiddenCharacter]:
    """Every character of `text` a reader cannot see or that reorders what they see, in order,
    except the legitimate uses described above."""
    found = []
    flag_tags = _flag_tags(text)
    line, line_start = 1, 0
    for index, character in enumerate(text):
        if character == "\n":
            line, line_start = line + 1, index + 1
            continue
        if _looks_hidden(character) and not _allowed(text, index, flag_tags):
            found.append(HiddenCharacter(index, line, index - line_start + 1, character,
                                         character in DIRECTION_CONTROLS))
    return found


def as_displayed(text: str) -> str:
    """The text in the order it is shown, with hidden characters as spaces: what a reader
    sees, for the checks that look for names and links.

    A right-to-left override shows the letters after it in reverse, up to the end of the
    override (U+202C or U+2069) or of the line; hidden characters become spaces, which the
    name matching joins again where they split a word ("Ja<ZWSP>ne")."""
    shown: list[str] = []
    reversed_run: list[str] | None = None
    for character in text:
        if character == RIGHT_TO_LEFT_OVERRIDE:
            if reversed_run is not None:
                shown.extend(reversed(reversed_run))
            reversed_run = []
            continue
        if reversed_run is not None and character in ("\u202c", "\u2069", "\n"):
            shown.extend(reversed(reversed_run))
            reversed_run = None
        target = shown if reversed_run is None else reversed_run
        target.append(" " if _looks_hidden(character) else character)
    if reversed_run is not None:
        shown.extend(reversed(reversed_run))
    return "".join(shown)


_NAMED_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Control characters, format characters (bidi overrides and isolates, zero-width characters,
# the byte-order mark), line and paragraph separators, and stray surrogates.
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
# A name (a post's folder, a file in it) may hold none of these, nor a private-use or unassigned
# character: names are shown in logs, notices and terminals, where any of them can forge a line.
_UNSAFE_IN_NAMES = _HIDDEN_CATEGORIES | {"Co", "Cn"}


def visible(text: object) -> str:
    """`text` with every character that could hide, forge or reorder what a person reads
    spelled out as an escape (`\\x1b`, `\\n`, `\\u202e`); a backslash is doubled, so an
    escape cannot be imitated. Letters, accents and emoji are left alone."""
    text = str(text)
    if text.isprintable() and "\\" not in text:
        return text
    shown = []
    for character in text:
        code = ord(character)
        if character in _NAMED_ESCAPES:
            shown.append(_NAMED_ESCAPES[character])
        elif unicodedata.category(character) not in _HIDDEN_CATEGORIES \
                and character not in BLANKS:
            shown.append(character)
        elif code <= 0xFF:
            shown.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            shown.append(f"\\u{code:04x}")
        else:
            shown.append(f"\\U{code:08x}")
    return "".join(shown)



def unsafe_character(name: str) -> str | None:
    """The first character of `name` that a post's or file's name must not hold (a control,
    format, separator, private-use, unassigned or blank character), as "U+XXXX NAME"; None if
    there is none."""
    for character in name:
        if unicodedata.category(character) in _UNSAFE_IN_NAMES or character in BLANKS:
            label = unicodedata.name(character, "") or _CONTROL_NAMES.get(character,
                                                                          "CONTROL CHARACTER")
            return f"U+{ord(character):04X} {label}"
    return None
