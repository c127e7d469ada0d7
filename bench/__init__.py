"""Skick benchmarks: each ``bench_*.py`` module measures a capability against its floor.

Run them with ``hatch run bench:run`` (all) or ``hatch run bench:run ws amqp`` (modules
whose name contains one of the words). Benchmarks are not tests.
"""
