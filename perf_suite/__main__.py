"""``python -m perf_suite`` (``make perf``, ``nox -s perf``)."""

from perf_suite.cli import main

raise SystemExit(main())
