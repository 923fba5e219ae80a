"""A message's words (vault.search): ASCII text takes a one-pass path that must cut exactly as the general one."""

from __future__ import annotations

import random
import string

from vault.search import WORD, fold, indexed_words, words_of


def general_words(text: str) -> list[str]:
    """The definition: folded, then runs of letters and digits."""
    return WORD.findall(fold(text))


def test_ascii_text_is_cut_as_the_general_rule_cuts_it():
    rng = random.Random(20261130)
    alphabet = string.printable + "\x00\x0b\x1c\x1f\x7f"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(60)))
        assert words_of(text) == general_words(text), repr(text)
        assert indexed_words({"content": text}) == " ".join(general_words(text)), repr(text)


def test_examples_on_both_paths():
    assert words_of("Deadline: FRIDAY_5pm, see doc-42!") == ["deadline", "friday", "5pm", "see", "doc", "42"]
    assert words_of("Café au lait, NAÏVE_idea") == ["cafe", "au", "lait", "naive", "idea"]
    assert indexed_words({"content": "  __ ,, "}) == ""
    assert indexed_words({"content": "C++ and  Go"}) == "c and go"
    assert indexed_words({"content": "Ça va", "tool_calls": None}) == "ca va"
