"""Keja's performance suite (P8.0–P8.2): datasets, benchmarks measured as ratios against ceilings
taken in the same run, locust load scenarios, baselines and regression detection.

``python -m perf_suite --scale medium`` runs it (``make perf``); ``python -m perf_suite.compare``
checks the latest results against the committed baseline (``make perf-compare``)."""
