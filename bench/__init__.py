"""Benchmarks of drillbot: answer ingest, leaderboard latency and memory per configured channel.

`python -m bench` (or `make bench`) runs them all; every figure is printed beside a baseline
measured in the same run, because the machines are shared and noisy and only a same-run ratio
says something. This package imports nothing at import time: the memory benchmark's baseline
child imports `bench.procstat` and must not pay for anything else.
"""
