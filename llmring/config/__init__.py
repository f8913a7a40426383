"""Configuration: the lockfile (its schema, its file I/O) and the resolver that turns an alias
or a ``provider:model`` reference into the ordered list of models to try.

Nothing here is imported by ``import llmring``: ``LLMRing`` loads it on first use.
"""
