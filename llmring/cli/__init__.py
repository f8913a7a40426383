"""The ``llmring`` command line (``app``: argparse and the commands; ``chat``: streaming to a
terminal; ``errors``: exit codes and error reports). ``main`` is the entry point."""

from llmring.cli.app import main

__all__ = ["main"]
