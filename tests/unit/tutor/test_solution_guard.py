"""The hint-mode solution checks that need no sandbox: same program up to names and
formatting, and numbered walkthroughs of the solution (issue 14 item 10)."""

from __future__ import annotations

from tutor.chat.solution_guard import same_program, step_walkthrough

SOLUTION_MD = '''\
# Solution

```python
def positive_squares(numbers):
    """Return the squares of the positive numbers in ``numbers``."""
    return [n ** 2 for n in numbers if n > 0]


def main():
    print(positive_squares([1, -2, 3]))
```
'''


def test_a_renamed_reformatted_solution_is_the_same_program() -> None:
    renamed = (
        "def squares_of_positives(values):\n"
        "    # keep the positives\n"
        "    return [\n        x**2\n        for x in values\n        if x > 0\n    ]\n"
    )
    assert same_program(renamed, [SOLUTION_MD])


def test_a_bare_solution_file_is_compared_too() -> None:
    solution_py = "def f(a, b):\n    return a % b == 0\n"
    assert same_program("def divides(x, y):\n    return x % y == 0", [solution_py])


def test_other_code_is_not_the_solution() -> None:
    other_operator = "def positive_squares(numbers):\n    return [n * n for n in numbers if n > 0]"
    concept = "for word in ['a', 'b']:\n    print(word.upper())"
    assert not same_program(other_operator, [SOLUTION_MD])  # the sandbox check catches it
    assert not same_program(concept, [SOLUTION_MD])
    assert not same_program("not python at all (", [SOLUTION_MD])
    assert not same_program(concept, [])


def test_builtins_keep_their_names() -> None:
    # Renaming is canonical for the program's own names only: len() is not sum().
    assert not same_program("def f(xs):\n    return len(xs)", ["def g(ys):\n    return sum(ys)"])


def test_numbered_steps_that_retell_the_solution_are_a_walkthrough() -> None:
    loop = (
        "def sum_evens(numbers):\n    total = 0\n    for n in numbers:\n"
        "        if n % 2 == 0:\n            total += n\n    return total\n"
    )
    walkthrough = (
        "Here is how:\n1. Start a total at 0.\n2. Loop over each number.\n"
        "3. If the remainder of n % 2 is 0, add it to the total.\n4. Return the total."
    )
    hint = (
        "Think about these questions:\n1. How can you tell that a number is even?\n"
        "2. Where does the result live between items?\n3. Look at passage [1]."
    )
    assert step_walkthrough(walkthrough, [loop])
    assert not step_walkthrough(hint, [loop])
    assert not step_walkthrough("Loop, test with %, add, return.", [loop])  # no steps
