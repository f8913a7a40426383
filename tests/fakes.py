"""A minimal provider for engine tests: NDJSON lines ``{"t": text}`` then ``{"done": reason}``.

It exercises the engine, transport and fallback without depending on any real provider's
wire format.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from llmring.exceptions import ProviderResponseError, error_class_for_status
from llmring.providers._assembly import StreamAssembly, total_usage
from llmring.providers.base import ErrorInfo, Provider, WireFormat
from llmring.schemas import LLMRequest, LLMResponse, StreamChunk


class FakeStreamParser:
    def __init__(self, model: str) -> None:
        self.assembly = StreamAssembly(model)

    def feed(self, payload: str) -> list[StreamChunk]:
        self.assembly.ensure_open()
        line = json.loads(payload)
        if "error" in line:
            raise error_class_for_status(line.get("status", 500))(line["error"])
        if "done" in line:
            self.assembly.usage = total_usage(3, 4)
            return self.assembly.final(line["done"], line["done"])
        return self.assembly.text(line["t"])

    def finish(self) -> list[StreamChunk]:
        if not self.assembly.finished:
            raise ProviderResponseError("stream ended before the done line")
        return []

    def snapshot(self) -> LLMResponse:
        return self.assembly.snapshot()


class FakeProvider(Provider):
    name: ClassVar[str] = "fake"
    api_key_env: ClassVar[tuple[str, ...]] = ("FAKE_API_KEY",)
    base_url_env: ClassVar[str] = "FAKE_BASE_URL"
    default_base_url: ClassVar[str] = "http://fake.test"
    stream_format: ClassVar[WireFormat] = "ndjson"

    def endpoint(self, model: str, *, stream: bool) -> str:
        return f"{self.base_url}/{model}/{'stream' if stream else 'complete'}"

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key()}"}

    def build_body(self, request: LLMRequest, model: str, *, stream: bool) -> dict[str, Any]:
        return {"model": model, "prompt": request.messages[-1].text(), "stream": stream}

    def stream_parser(self, model: str) -> FakeStreamParser:
        return FakeStreamParser(model)

    def parse_response(self, body: bytes, model: str) -> LLMResponse:
        parser = FakeStreamParser(model)
        for line in body.decode().splitlines():
            parser.feed(line)
        return parser.snapshot()

    def error_info(self, body: bytes) -> ErrorInfo:
        try:
            return ErrorInfo(message=json.loads(body)["error"])
        except (ValueError, KeyError, TypeError):
            return ErrorInfo()


def ndjson(*lines: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)
