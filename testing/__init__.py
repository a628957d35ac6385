"""Shared fakes for the tests and the benchmarks, outside the wheel (`bot*` only is packaged).

- `testing.fakes`: a recording adapter and fixed or flaky graders, for the core without a
  platform;
- `testing.slack`: a fake Slack Web API and Socket Mode server (`fake_slack`, also run as a
  process by the benchmarks), Slack request bodies and signing (`payloads`), OAuth installs
  (`installs`);
- `testing.discord`: a fake Discord REST API and gateway that discord.py itself talks to;
- `testing.fake_openai`: an OpenAI-compatible HTTP server for the real openai SDK.

`tests/` and `bench/` both import from here; nothing here imports from `tests/`.
"""
