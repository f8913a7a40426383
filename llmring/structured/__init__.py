"""Structured output: ``LLMRequest.response_format`` from request to validated ``parsed``.

- ``spec``: the three accepted forms read into one ``OutputSpec``; the answer parsed and
  validated into ``LLMResponse.parsed`` (or ``StructuredOutputError``).
- ``schema``: the schema rewritten per provider (OpenAI strict, Anthropic, Gemini, inlined
  ``$ref`` for Ollama); what a provider cannot express is refused before sending.
- ``partial``: the object so far on each streamed chunk (``partial_object``).

Each provider's ``request.py`` maps an ``OutputSpec`` to its own field; ``LLMRing`` applies
the rest only to requests that ask for it.
"""

from llmring.structured.partial import PartialJSON, structured_stream
from llmring.structured.spec import OutputKind, OutputSpec, apply_spec, output_spec

__all__ = [
    "OutputKind",
    "OutputSpec",
    "PartialJSON",
    "apply_spec",
    "output_spec",
    "structured_stream",
]
