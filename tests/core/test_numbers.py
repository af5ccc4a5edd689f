import itertools

import numpy as np
import pytest

from scoring_runtime.core.numbers import is_number, parsed_in_grammar


def _numpy_reads(text: str) -> bool:
    try:
        np.array([text], dtype=np.float64)
    except (ValueError, OverflowError):
        return False
    return True


def test_the_quick_answer_agrees_with_the_grammar_on_every_short_text_numpy_reads():
    """The quick answer trusts numpy's parse for texts of digits, signs, points and exponents:
    every such text of up to five characters that numpy reads must be in the grammar."""
    read = 0
    for length in range(1, 6):
        for letters in itertools.product("0.eE+-", repeat=length):
            text = "".join(letters)
            if _numpy_reads(text):
                read += 1
                assert parsed_in_grammar([text]) == is_number(text) == True, text  # noqa: E712
    assert read > 100


@pytest.mark.parametrize("text", [" 1", "1 ", "1_0", "inf", "-inf", "infinity", "nan", "\u0661\u0662", "1e5\t"])
def test_texts_numpy_reads_outside_the_grammar_are_refused(text):
    assert _numpy_reads(text)
    assert not parsed_in_grammar(["1", text, "2"])


@pytest.mark.parametrize("texts", [["Infinity", "-Infinity", "+Infinity"], ["1e5", "Infinity"], []])
def test_infinity_and_no_texts_are_in_the_grammar(texts):
    assert parsed_in_grammar(texts)
