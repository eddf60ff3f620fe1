"""Cohort analytics for instructors, read through the stores that own the tables and drawn
from the learner model's own mastery state; ``service.AnalyticsService`` is the entry
point (its docstring maps the modules)."""
