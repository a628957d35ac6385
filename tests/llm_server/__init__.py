"""`make test-llm`: the LLM grader against a real local server (not part of `make test`)."""
