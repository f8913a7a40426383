"""A recorded stream held to its sidecar's ``expect`` block, the same way for every provider.

A complete recording must keep the stream invariants and add up to ``expect`` whole; a
failing one must raise the error class ``expect`` names and keep the text streamed before it.
"""

from __future__ import annotations

import pytest

from llmring.exceptions import ProviderError
from llmring.providers.base import StreamParser
from llmring.schemas import LLMResponse
from llmring.testing import Recording
from tests.expectations import response_summary
from tests.providers.invariants import check_stream, run_parser
from tests.replay_parse import payloads


def check_complete(parser: StreamParser, recording: Recording, model: str) -> LLMResponse:
    """Run ``recording`` through ``parser`` (made for ``model``): the stream invariants hold
    and the response is ``expect`` whole. The response, for a test's further checks."""
    response = check_stream(parser, run_parser(parser, payloads(recording)), model)
    assert response_summary(response) == recording.expect
    return response


def check_failing(parser: StreamParser, recording: Recording) -> None:
    """Run ``recording`` through ``parser``: it raises the error class ``expect`` names, and
    the snapshot keeps ``expect["partial_text"]``."""
    with pytest.raises(ProviderError) as caught:
        run_parser(parser, payloads(recording))
    assert type(caught.value).__name__ == recording.expect["error"]
    assert parser.snapshot().content == recording.expect["partial_text"]
