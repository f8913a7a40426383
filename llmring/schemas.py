"""Public data models: what an application sends to llmring and what it gets back.

These use llmring's own vocabulary (``finish_reason``, ``prompt_tokens``); each provider
translates its wire spelling into them in exactly one place, its ``stream.py`` /
``response.py``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from llmring._mapping import MappingView
from llmring.timeouts import Timeout

#: What ``LLMRequest.response_format`` takes: a pydantic model class, OpenAI's
#: ``{"type": "json_schema", "json_schema": {name, schema, strict}}``, ``{"type": "json_object"}``
#: or ``{"type": "text"}``.
ResponseFormat: TypeAlias = type[BaseModel] | dict[str, Any]

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]
FinishReason: TypeAlias = Literal["stop", "length", "tool_calls", "content_filter"]
ToolChoiceMode: TypeAlias = Literal["auto", "none", "required"]
#: How hard a model should think, weakest first; ``"none"`` turns thinking off where it can be.
ReasoningEffort: TypeAlias = Literal["none", "minimal", "low", "medium", "high"]
#: How long Anthropic keeps a cached prefix: 5 minutes (its default) or an hour.
CacheTTL: TypeAlias = Literal["5m", "1h"]
AttemptOutcome: TypeAlias = Literal["served", "failed", "cancelled"]

__all__ = [
    "Attempt",
    "AttemptOutcome",
    "CacheTTL",
    "Continuation",
    "FinishReason",
    "FunctionCall",
    "FunctionDefinition",
    "ImagePart",
    "ImageURL",
    "LLMRequest",
    "LLMResponse",
    "Message",
    "ReasoningBudget",
    "ReasoningEffort",
    "ResponseFormat",
    "Role",
    "StreamChunk",
    "TextPart",
    "Timing",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
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


class FunctionCall(MappingView[str], _Model):  # type: ignore[misc]  # __iter__: keys, not pairs
    """The function a model asked to call; ``arguments`` is a JSON object as a string.

    Also a read-only mapping, as in OpenAI's dicts: ``call.function["name"]``.
    """

    name: str
    arguments: str = "{}"

    def _mapping_keys(self) -> list[str]:
        return ["name", "arguments"]


class ToolCall(MappingView[Any], _Model):  # type: ignore[misc]  # __iter__: keys, not pairs
    """One complete tool call, in OpenAI's shape whatever the provider.

    Also a read-only mapping (keys ``id``, ``type``, ``function``), as in OpenAI's dicts:
    ``call["function"]["name"]``, ``call.get("id")``.
    """

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall

    def _mapping_keys(self) -> list[str]:
        return ["id", "type", "function"]


class Continuation(_Model):
    """A provider's opaque state that must go back with an assistant turn.

    Anthropic's signed ``thinking`` and ``redacted_thinking`` blocks, Gemini's
    ``thoughtSignature``s, the Responses API's ``reasoning`` items: without them the next
    request is refused (or loses the model's reasoning). ``provider`` names the wire format
    the ``items`` are in (``anthropic``, ``google``, ``openai-responses``); another provider
    drops them. Plain JSON data, so a conversation can be stored and resumed elsewhere.
    """

    provider: str
    items: list[dict[str, Any]]


class ToolCallDelta(_Model):
    """A fragment of a tool call as it streams: ``index`` is the call's position in the answer.

    The first delta of a call carries its ``id`` and ``name``; later ones only ``arguments``,
    the next piece of its JSON arguments text. Providers that send calls whole (Gemini,
    Ollama) send one delta per call with all of it.
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


class Message(_Model):
    """One turn of a conversation.

    ``tool_calls`` is set on an assistant turn that called tools; ``tool_call_id`` on the
    ``tool`` turn that answers one of them. ``metadata`` is carried along for the caller and
    never sent to a provider. ``continuation`` is the provider state an assistant turn from
    ``LLMResponse.message`` carries back.

    ``cache`` marks a prompt-cache breakpoint at the end of this message: ``True`` (the
    provider's default lifetime) or a TTL, ``"5m"`` or ``"1h"``. Anthropic gets
    ``cache_control`` on the message's last block; providers that cache on their own
    (OpenAI, Gemini) ignore it.
    """

    role: Role
    content: str | list[ContentPart] = ""
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    metadata: dict[str, Any] | None = None
    cache: bool | CacheTTL = False
    continuation: Continuation | None = None

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


class ReasoningBudget(_Model):
    """Thinking asked for as a token budget rather than an effort level."""

    budget_tokens: int = Field(gt=0)


class LLMRequest(_Model):
    """A chat request, provider-neutral.

    ``model`` is ``provider:model`` or an alias from the lockfile. ``response_format`` asks
    for structured output (see ``ResponseFormat``); a model class is also what
    ``LLMResponse.parsed`` is validated into. ``extra_params`` is
    merged into the provider's JSON body last, key by key; a value of ``None`` removes that
    key (e.g. ``{"stream_options": None}`` for OpenAI-compatible servers that reject it).
    ``provider_params`` is the same, but keyed by provider name and merged only into that
    provider's body, after ``extra_params``.

    ``reasoning``, ``stop``, ``top_p``, ``seed``, ``parallel_tool_calls``, ``temperature`` and
    ``cache_tools`` are mapped to each provider's own fields, so one request works on every
    model of an alias: what a provider lacks is left out (with a DEBUG log line on the
    ``llmring`` logger), and a temperature outside its range is clamped.
    """

    messages: list[Message]
    model: str
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    tools: list[Tool] | None = None
    tool_choice: ToolChoiceMode | ToolChoice | None = None
    response_format: ResponseFormat | None = None
    #: Seconds, or a ``Timeout`` per phase; None uses ``LLMRing(timeout=...)``.
    timeout: Annotated[float, Field(gt=0)] | Timeout | None = None
    #: Retries per model before the first chunk; None uses ``LLMRing(max_retries=...)``.
    max_retries: int | None = Field(default=None, ge=0)
    #: Start the alias's next model beside the current one if it has produced no chunk after
    #: this many seconds; None uses the alias's ``hedge_after`` in the lockfile, if any.
    hedge_after: float | None = Field(default=None, gt=0)
    extra_params: dict[str, Any] = Field(default_factory=dict)
    reasoning: ReasoningEffort | ReasoningBudget | None = None
    stop: list[str] | None = None
    top_p: float | None = Field(default=None, ge=0, le=1)
    seed: int | None = None
    parallel_tool_calls: bool | None = None
    cache_tools: bool | CacheTTL = False
    provider_params: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("provider_params")
    @classmethod
    def _known_providers(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        # Checked here so a misspelt provider fails at once instead of never being sent.
        from llmring.exceptions import ProviderNotFoundError
        from llmring.providers import canonical_name  # imported late: providers import us

        canonical: dict[str, dict[str, Any]] = {}
        for name, params in value.items():
            try:
                key = canonical_name(name)
            except ProviderNotFoundError as exc:
                raise ValueError(f"provider_params: {exc}") from exc
            if key in canonical:
                raise ValueError(f"provider_params names {key!r} twice (e.g. gemini and google)")
            canonical[key] = params
        return canonical

    @field_serializer("response_format", when_used="json")
    def _response_format_json(self, value: ResponseFormat | None) -> dict[str, Any] | None:
        """A model class has no JSON form: in JSON it is written as the schema it stands for."""
        if not isinstance(value, type):
            return value
        schema = value.model_json_schema()
        json_schema: dict[str, Any] = {"name": value.__name__, "schema": schema, "strict": True}
        if isinstance(schema.get("description"), str):
            json_schema["description"] = schema["description"]
        return {"type": "json_schema", "json_schema": json_schema}


class Usage(MappingView[int], _Model):  # type: ignore[misc]  # __iter__: keys, not pairs
    """Token counts, normalized. ``raw`` keeps the provider's own usage object as sent.

    ``completion_tokens`` includes reasoning tokens on every provider (Gemini reports them
    apart and they are added in), so ``total_tokens`` = prompt + completion.

    Also a read-only mapping of the counts: ``usage["total_tokens"]``,
    ``usage.get("cached_tokens")``, ``dict(usage)``. Its keys are the normalized names of
    the counts the provider reported: the three totals always, an extra such as
    ``cached_tokens`` only when it is set; ``raw`` is not among them.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    raw: dict[str, Any] | None = None

    def _mapping_keys(self) -> list[str]:
        return [
            name
            for name in type(self).model_fields
            if name != "raw" and isinstance(getattr(self, name), int)
        ]


class Timing(_Model):
    """How long a call took, in seconds, from three clock reads (start, first chunk, end).

    ``time_to_first_chunk`` is from sending the request to the first chunk that reached the
    caller (``None`` for ``chat()``, which has no chunks). ``chunks`` counts the chunks
    yielded, the final one included. ``output_tokens_per_second`` is the completion tokens
    over the time from the first chunk to the end (over the whole call for ``chat()``);
    ``None`` without usage.
    """

    time_to_first_chunk: float | None = None
    duration: float
    chunks: int = 0
    output_tokens_per_second: float | None = None


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

    Intermediate chunks carry ``delta`` (answer text) and/or ``reasoning`` (thinking text),
    ``tool_call_deltas`` as tool-call arguments arrive, and, when the request set
    ``response_format``, ``partial_object`` (the JSON so far, parsed best-effort) on each
    chunk where it changed. The final chunk, exactly one per stream, carries
    ``finish_reason``, ``usage``, the complete ``tool_calls``, ``response`` (the complete
    response, equal to what ``chat()`` returns, with ``parsed`` set under ``response_format``),
    ``attempts`` (every request made to serve the call: retries, fallback, hedging; the last
    one the model that served it) and what observes the call: ``response_id`` (the provider's
    id of the response), ``served_model`` (the model the provider says served, e.g.
    ``gpt-4o-2024-08-06``) and ``timing``. ``model`` is on every chunk.
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
    tool_call_deltas: list[ToolCallDelta] | None = None
    partial_object: Any = None
    response_id: str | None = None
    served_model: str | None = None
    timing: Timing | None = None
    attempts: list[Attempt] | None = None
    #: On the final chunk: the whole response, equal to what ``chat()`` returns.
    response: LLMResponse | None = None

    @property
    def is_final(self) -> bool:
        return self.finish_reason is not None


class LLMResponse(_Model):
    """A complete response; also the ``partial`` snapshot attached to a mid-stream error.

    ``parsed`` is set when the request had a ``response_format``: the validated model
    instance for a model class, the parsed JSON for a schema or ``json_object``; it stays
    ``None`` when the model refused (``refusal`` is then set) or answered with tool calls.
    ``response_id``, ``served_model``, ``timing`` and ``attempts`` (every request made to
    serve it) are as on the final ``StreamChunk``.
    """

    content: str = ""
    model: str
    reasoning: str | None = None
    refusal: str | None = None
    finish_reason: FinishReason | None = None
    raw_finish_reason: str | None = None
    usage: Usage | None = None
    tool_calls: list[ToolCall] | None = None
    #: Provider state the next turn must send back (see ``Continuation``).
    continuation: Continuation | None = None
    parsed: Any = None
    response_id: str | None = None
    served_model: str | None = None
    timing: Timing | None = None
    attempts: list[Attempt] | None = None

    @property
    def total_tokens(self) -> int | None:
        return self.usage.total_tokens if self.usage is not None else None

    @property
    def message(self) -> Message:
        """The assistant turn to append to the conversation: text, tool calls, and the
        provider's continuation state, so the next request is accepted as is."""
        return Message(
            role="assistant",
            content=self.content,
            tool_calls=self.tool_calls,
            continuation=self.continuation,
        )


StreamChunk.model_rebuild()  # ``response`` names LLMResponse, defined after it
