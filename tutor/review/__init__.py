"""Automated code review of trainee submissions.

One module per step, composed by ``tutor.review.pipeline`` (the one pipeline the service,
``kdt-tutor review`` and ``kdt-tutor eval review`` run) and stored by
``tutor.review.service``:

- ``types``: the domain types every step shares (files, findings, test results, lines).
- ``submission``: validating what a trainee sends (names, sizes, encodings).
- ``exercise_tests``: an exercise's tests (``tests.json`` in its two shapes, pytest files).
- ``static_checks``: syntax errors, ruff, bandit, radon -> findings, per-level rule sets.
- ``sandbox`` (a package; + ``sandbox_harness``, the script that runs inside it): running
  trainee code with the tests under bubblewrap and resource limits.
- ``localization``: ranking suspicious lines from the tests' line coverage.
- ``narrative``: the review text (offline composed, or an LLM grounded in the findings).
"""
