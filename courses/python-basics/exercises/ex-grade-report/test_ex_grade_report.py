import pytest

from submission import grade_report


def test_average_per_student():
    result = grade_report([("Kim", 80), ("Lee", 90), ("Kim", 100)])
    assert result == {"Kim": 90.0, "Lee": 90.0}


def test_single_record():
    assert grade_report([("Park", 77)]) == {"Park": 77.0}


def test_rounds_to_two_decimals():
    assert grade_report([("A", 1), ("A", 2), ("A", 2)]) == {"A": 1.67}


def test_float_scores():
    assert grade_report([("Choi", 85.5), ("Choi", 90)]) == {"Choi": 87.75}


def test_names_are_case_sensitive():
    assert grade_report([("Mina", 90), ("mina", 80)]) == {"Mina": 90.0, "mina": 80.0}


def test_accepts_lists_as_records():
    assert grade_report([["Kim", 60], ["Kim", 70]]) == {"Kim": 65.0}


def test_empty_input_raises_value_error():
    with pytest.raises(ValueError):
        grade_report([])
