"""What a trainee may submit: every bad input gets its own clear message."""

from __future__ import annotations

import pytest

from tutor.errors import InvalidInputError
from tutor.review.submission import validate_submission
from tutor.review.types import SourceFile

LIMITS = {"max_bytes": 1024, "max_files": 3}


def test_valid_files_come_back_in_order_with_line_endings_normalised() -> None:
    files = validate_submission(
        [("main.py", b"\xef\xbb\xbfx = 1\r\ny = 2\r\n"), ("helpers.py", "def f():\r    pass\n")],
        **LIMITS,
    )

    assert files == (
        SourceFile("main.py", "x = 1\ny = 2\n"),
        SourceFile("helpers.py", "def f():\n    pass\n"),
    )


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([], "has no files"),
        ([("a.py", "x=1"), ("b.py", "x=1"), ("c.py", "x=1"), ("d.py", "x=1")], "has 4 files"),
        ([("../../etc/passwd.py", "x=1")], "without folders"),
        ([("dir/a.py", "x=1")], "without folders"),
        ([(".hidden.py", "x=1")], "without folders"),
        ([("notes.txt", "x=1")], "only Python files"),
        ([("my file.py", "x=1")], "not a valid Python module name"),
        ([("1st.py", "x=1")], "not a valid Python module name"),
        ([("", "x=1")], "needs a name"),
        ([(None, "x=1")], "needs a name"),
        ([("a.py", "x=1"), ("a.py", "y=2")], "submitted twice"),
        ([("a.py", b"x = '\xff\xfe'")], "is not UTF-8 text (byte 0xff at position 5)"),
        ([("a.py", b"\x7fELF\x00\x00binary")], "is a binary file"),
        ([("a.py", "x = 1\x00")], "is a binary file"),
        ([("a.py", "   \n\t\n")], "the submission is empty"),
        ([("a.py", 12345)], "content must be text"),
    ],
)
def test_bad_submissions_are_refused_with_a_clear_message(files, message) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_submission(files, **LIMITS)

    assert message in str(caught.value)


def test_an_oversized_submission_names_its_size_and_the_limit() -> None:
    five_mb = "x = 1\n" * (5 * 1024 * 1024 // 6 + 1)

    with pytest.raises(InvalidInputError) as caught:
        validate_submission([("big.py", five_mb)], max_bytes=512 * 1024, max_files=20)

    assert "the submission is 5.0 MB; the limit is 512 KB of code" in str(caught.value)


def test_multibyte_text_is_measured_in_bytes() -> None:
    korean = "# 한글 주석\n" * 60  # 60 lines of 15 bytes (3 per Hangul syllable)

    with pytest.raises(InvalidInputError, match="larger than 512 bytes"):
        validate_submission([("ko.py", korean)], max_bytes=512, max_files=1)
