"""``python -m llmring``: the ``llmring`` command line."""

from llmring.cli import main

raise SystemExit(main())
