"""Platforms: one subpackage each (`console`, `slack`, `discord`) plus `common`.

A platform translates its events into calls of the core's one inbound interface
(`bot.ports.Inbound`) and the core's posts, reveals, feedback and files into its own calls (the
`bot.ports.Adapter` protocol); it holds no product rules and imports no storage, service or
composition root (tests/test_architecture.py checks it). What every platform needs (chunking,
clipping and escaping, bounded caches, reply dedupe, DM routing for DM-only commands) is written
once in `common`. A platform imports `common` and the core, never another platform
(tests/platforms/test_layout.py checks it), and is imported only when it runs, so the default
install never loads slack_bolt or discord.
"""
