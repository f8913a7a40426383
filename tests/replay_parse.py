"""Bytes -> wire decoder -> provider parser, synchronously: no network, no event loop."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from llmring._wire import iter_payloads
from llmring.exceptions import ProviderError
from llmring.providers import create_provider
from llmring.schemas import LLMResponse, StreamChunk
from llmring.testing import ReplayStream

Outcome = tuple[list[StreamChunk], str | None, LLMResponse | None]


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
