"""Public data models: what an application sends to llmring and what it gets back.

These use llmring's own vocabulary (``finish_reason``, ``prompt_tokens``); each provider
translates its wire spelling into them in exactly one place, its ``stream.py`` /
``response.py``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from llmring.timeouts import Timeout

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]
FinishReason: TypeAlias = Literal["stop", "length", "tool_calls", "content_filter"]
ToolChoiceMode: TypeAlias = Literal["auto", "none", "required"]
AttemptOutcome: TypeAlias = Literal["served", "failed", "cancelled"]

__all__ = [
    "Attempt",
    "AttemptOutcome",
    "FinishReason",
    "FunctionCall",
    "FunctionDefinition",
    "ImagePart",
    "ImageURL",
    "LLMRequest",
    "LLMResponse",
    "Message",
    "Role",
    "StreamChunk",
    "TextPart",
    "Tool",
    "ToolCall",
    "ToolChoice",
    "ToolChoiceFunction",
    "ToolChoiceMode",
    "Usage",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- content ---------------------------------------------------------------------------


class TextPart(_Model):
    """A text part of a multi-part message."""

    type: Literal["text"] = "text"
    text: str


class ImageURL(_Model):
    """An image reference: an ``https://`` URL or a ``data:<mime>;base64,<data>`` URL."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Model):
    """An image part of a multi-part message (OpenAI's ``image_url`` shape)."""

    type: Literal["image_url"] = "image_url"
    image_url: ImageURL


ContentPart: TypeAlias = TextPart | ImagePart


class FunctionCall(_Model):
    """The function a model asked to call; ``arguments`` is a JSON object as a string."""

    name: str
    arguments: str = "{}"


class ToolCall(_Model):
    """One complete tool call, in OpenAI's shape whatever the provider."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Model):
    """One turn of a conversation.

    ``tool_calls`` is set on an assistant turn that called tools; ``tool_call_id`` on the
    ``tool`` turn that answers one of them. ``metadata`` is carried along for the caller and
    never sent to a provider.
    """

    role: Role
    content: str | list[ContentPart] = ""
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    metadata: dict[str, Any] | None = None

    def text(self) -> str:
        """The message's text, with the text parts of a multi-part message joined."""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


# --- tools -----------------------------------------------------------------------------


class FunctionDefinition(_Model):
    """A function the model may call; ``parameters`` is a JSON Schema object."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class Tool(_Model):
    """A tool in OpenAI's function format, the one shape every provider is given."""

    type: Literal["function"] = "function"
    function: FunctionDefinition


class ToolChoiceFunction(_Model):
    """Names the one function the model must call."""

    name: str


class ToolChoice(_Model):
    """Force a named function: ``{"type": "function", "function": {"name": ...}}``."""

    type: Literal["function"] = "function"
    function: ToolChoiceFunction


# --- request and response --------------------------------------------------------------


class LLMRequest(_Model):
    """A chat request, provider-neutral.

    ``model`` is ``provider:model`` or an alias from the lockfile. ``extra_params`` is
    merged into the provider's JSON body last, key by key; a value of ``None`` removes that
    key (e.g. ``{"stream_options": None}`` for OpenAI-compatible servers that reject it).
    """

    messages: list[Message]
    model: str
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    tools: list[Tool] | None = None
    tool_choice: ToolChoiceMode | ToolChoice | None = None
    response_format: dict[str, Any] | None = None
    #: Seconds, or a ``Timeout`` per phase; None uses ``LLMRing(timeout=...)``.
    timeout: Annotated[float, Field(gt=0)] | Timeout | None = None
    #: Retries per model before the first chunk; None uses ``LLMRing(max_retries=...)``.
    max_retries: int | None = Field(default=None, ge=0)
    #: Start the alias's next model beside the current one if it has produced no chunk after
    #: this many seconds; None uses the alias's ``hedge_after`` in the lockfile, if any.
    hedge_after: float | None = Field(default=None, gt=0)
    extra_params: dict[str, Any] = Field(default_factory=dict)


class Usage(_Model):
    """Token counts, normalized. ``raw`` keeps the provider's own usage object as sent.

    ``completion_tokens`` includes reasoning tokens on every provider (Gemini reports them
    apart and they are added in), so ``total_tokens`` = prompt + completion.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    raw: dict[str, Any] | None = None


class Attempt(_Model):
    """One request made while serving a call: which model, how it ended, the wait before it.

    ``outcome`` is ``served`` for the one whose answer the caller got, ``failed`` (``error``
    says how) or ``cancelled`` (a hedged request that lost the race).
    """

    model: str
    outcome: AttemptOutcome
    error: str | None = None
    waited: float = 0.0


class StreamChunk(_Model):
    """One piece of a streamed response.

    Intermediate chunks carry ``delta`` (answer text) and/or ``reasoning`` (thinking text).
    The final chunk, exactly one per stream, carries ``finish_reason``, ``usage`` and the
    complete ``tool_calls``, and ``attempts``: every request made to serve the call (retries,
    fallback, hedging), the last one the model that served it. ``model`` is on every chunk.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    delta: str = ""
    model: str
    reasoning: str | None = None
    refusal: str | None = None
    finish_reason: FinishReason | None = None
    raw_finish_reason: str | None = None
    usage: Usage | None = None
    tool_calls: list[ToolCall] | None = None
    attempts: list[Attempt] | None = None

    @property
    def is_final(self) -> bool:
        return self.finish_reason is not None


class LLMResponse(_Model):
    """A complete response; also the ``partial`` snapshot attached to a mid-stream error.

    ``attempts`` (on a response from ``LLMRing.chat``) lists every request made to serve it.
    """

    content: str = ""
    model: str
    reasoning: str | None = None
    refusal: str | None = None
    finish_reason: FinishReason | None = None
    raw_finish_reason: str | None = None
    usage: Usage | None = None
    tool_calls: list[ToolCall] | None = None
    attempts: list[Attempt] | None = None

    @property
    def total_tokens(self) -> int | None:
        return self.usage.total_tokens if self.usage is not None else None
