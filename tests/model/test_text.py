"""``printable``: untrusted text made safe as plain text, with a fast path for clean text."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from sessiontui.model.text import age_label_lasts, format_age, printable

_UNSAFE = ("Cc", "Cf", "Cs", "Co", "Cn")


def reference(text: str) -> str:
    """The rule, one character at a time (what ``printable`` must give on every path)."""
    out = []
    for char in text:
        if char in "\t\n\r":
            out.append(" ")
        elif unicodedata.category(char) in _UNSAFE:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


@given(st.text())
def test_printable_follows_the_rule_for_any_text(text: str) -> None:
    shown = printable(text)
    assert shown == reference(text)
    assert not any(unicodedata.category(char) in _UNSAFE for char in shown)


@given(st.text(st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn"))))
def test_clean_text_is_returned_unchanged(text: str) -> None:
    assert printable(text) == text


def test_separators_other_than_space_are_kept_and_controls_escaped() -> None:
    # U+00A0 and U+2028 are not isprintable(): the slow path runs and keeps them.
    assert printable("a\u00a0b\u2028c\u200bd\x1b") == "a\u00a0b\u2028c\\u200bd\\x1b"
    assert printable("claude-opus-4-8") == "claude-opus-4-8"
    assert printable("x" * 10, max_len=4) == "xxx…"


@given(st.integers(min_value=-120_000, max_value=400 * 86_400_000).map(lambda ms: ms / 1000))
def test_an_age_label_lasts_exactly_until_it_changes(seconds: float) -> None:  # ms steps
    lasts = age_label_lasts(seconds)
    assert 0 < lasts <= 86400
    assert format_age(seconds + lasts * 0.999) == format_age(seconds)
    assert format_age(seconds + lasts + 1e-6) != format_age(seconds)
