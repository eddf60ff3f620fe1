"""The learner model: what a trainee knows, how that is learned from evidence, and what
they should do next; and the cohort analytics built on it (``tutor.learning.analytics``)."""
