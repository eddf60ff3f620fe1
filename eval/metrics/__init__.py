"""One metric family per module; each exposes pure scoring functions."""
