"""Curation: what instructors do to the knowledge base and the course material.

- ``kb_admin``: the knowledge base console (uploads, documents, versions, re-sync, check);
  ``kb_history``: what it remembers (audit log, kept versions, ingest jobs).
- ``course_authoring``: exercises and quiz items written in the console.
- ``content_gaps``: what trainees asked that the course did not answer, and closing it
  (an FAQ answer or out of scope); ``question_groups``: grouping those questions by meaning.
- ``eval_reports``: the evaluation reports on disk, as the console lists them.
"""
