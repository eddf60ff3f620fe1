"""Chat and answering: a trainee's conversation with the tutor.

- ``service``: ``ChatService``, the tutoring policy (plan, topic, retrieval, mode, answer).
- ``topics``: follow-up, new topic or small talk (``EvidenceRule``, ``LLMTopicRule``).
- ``smalltalk``: greetings and questions about the tutor, answered briefly.
- ``conversations``: conversations, messages, feedback and content gaps as stored.
- ``answering``: the answerer role; ``extractive`` (offline, the default) and
  ``llm_answerer`` (any OpenAI-compatible endpoint) play it; ``sentences`` splits passages
  into quotable units; ``multiple_choice`` picks an option of a quiz question.
"""
