"""Telling a slip of the keyboard from a different word: the one rule for suggesting a command or a setting."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["closest"]


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`."""
    before, row = list(range(len(b) + 1)), list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        earlier, before, row = before, row, [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(before[j] + 1, row[j - 1] + 1, before[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], earlier[j - 2] + 1)
    return row[len(b)]


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` is a typo of, if any: one edit away, two for words of six letters or more. A word
    this close is a slip of the keyboard; anything further is a different word, and suggesting it is noise."""
    word = word.lower()
    if len(word) < 3:
        return None
    best = min(choices, key=lambda choice: _distance(word, choice), default=None)
    if best is None:
        return None
    return best if _distance(word, best) <= (2 if min(len(word), len(best)) >= 6 else 1) else None
