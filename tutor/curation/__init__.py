"""Curation: what instructors do to the knowledge base and the course material.

- ``kb_admin``: the knowledge base console's entry point (``KnowledgeAdminService``), with
  ``kb_uploads`` (upload jobs), ``kb_edits`` (edits, hiding, deleting, restoring),
  ``kb_sync`` (re-sync, check, repair) and ``kb_context`` (what they share);
  ``kb_history``: what it remembers (audit log, kept versions, ingest jobs).
- ``course_authoring``: exercises and quiz items written in the console (``CourseAuthoring``),
  with ``exercise_authoring``, ``exercise_drafts``, ``exercise_files``, ``solution_check``,
  ``quiz_authoring``, ``authored_folder`` and ``authoring_checks``.
- ``content_gaps``: what trainees asked that the course did not answer, and closing it
  (an FAQ answer or out of scope); ``question_groups``: grouping those questions by meaning.
- ``eval_reports``: the evaluation reports on disk, as the console lists them.
"""
