"""The evaluation harness: datasets, metrics, runners and reports."""
