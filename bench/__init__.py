"""Benchmarks: scripts (not unit tests) that measure the bot against the real fakes.

Run one with `.venv/bin/python -m bench.<name>` (see docs/benchmarks.md), or all of them with
`.venv/bin/python -m bench.run_all`. Each starts the fakes and the bot itself, on 127.0.0.1 only,
prints a small table and a PASS/MISS line per target, and can write its numbers as JSON.
"""
