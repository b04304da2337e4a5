"""From policies.deobfuscation, the readings of a message with its disguises undone (`plain`,
`variants`, `words`), which moderation's layers use. What the contextual model reads is
policies.moderation.prepare's."""

from __future__ import annotations

from policies.deobfuscation import plain, variants, words

__all__ = ["plain", "variants", "words"]
