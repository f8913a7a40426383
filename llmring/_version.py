"""llmring's version, and the ``User-Agent`` every request carries."""

__version__ = "0.1.0"
USER_AGENT = f"llmring/{__version__}"
