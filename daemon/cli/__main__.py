"""`python -m daemon.cli ...` is `steward ...` (tests and benchmarks run it in subprocesses)."""

import sys

from daemon.cli.main import main

sys.exit(main())
