"""Test fakes of external services (only ever of things outside our code, e.g. the LLM)."""
