"""Bytes -> wire decoder -> provider parser, synchronously: no network, no event loop.

``payloads`` stops after the decoder (what a parser test feeds); ``parse_stream`` goes on
through a provider's parser.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from llmring._wire import iter_payloads
from llmring.exceptions import ProviderError
from llmring.providers import create_provider
from llmring.providers.base import WireFormat
from llmring.schemas import LLMResponse, StreamChunk
from llmring.testing import Recording, ReplayStream

Outcome = tuple[list[StreamChunk], str | None, LLMResponse | None]

#: The wire format of a streamed body, by the suffix of its file.
WIRE_FORMATS: dict[str, WireFormat] = {".sse": "sse", ".ndjson": "ndjson"}


def payloads(recording: Recording, chunks: Sequence[bytes] | None = None) -> list[str]:
    """A streamed recording's payloads, decoded the way the engine decodes them: the body
    whole, or cut into ``chunks``; the suffix of its file names the wire format."""
    wire = WIRE_FORMATS[recording.path.suffix]
    return list(iter_payloads(recording.response(chunks), wire))


def parse_stream(
    provider_name: str, model: str, chunks: Sequence[bytes], content_type: str
) -> Outcome:
    """The chunks a provider's parser yields for a body cut into ``chunks``; on an error,
    its class name and the partial response it carries."""
    provider = create_provider(provider_name, api_key="test-key")
    parser = provider.stream_parser(model)
    response = httpx.Response(
        200, headers={"content-type": content_type}, stream=ReplayStream(chunks)
    )
    out: list[StreamChunk] = []
    try:
        for payload in iter_payloads(response, provider.stream_format):
            out.extend(parser.feed(payload))
        out.extend(parser.finish())
    except (ProviderError, ValueError) as error:
        return out, type(error).__name__, parser.snapshot()
    return out, None, None
