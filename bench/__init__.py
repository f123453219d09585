"""Benchmarks: ``python -m bench`` runs every ``bench_*.py`` module, ``python -m bench NAME``
one of them (``python -m bench planner``)."""
