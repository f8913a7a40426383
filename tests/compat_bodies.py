"""Stream bodies in the wire format of each OpenAI-compatible server a preset names.

Written by hand in each server's format as its public docs and issue threads show it (ids
shortened); each keeps the quirk that server has on the wire:

- groq: usage only in ``x_groq.usage`` on the finish chunk (no ``usage`` key);
- openrouter: ``: OPENROUTER PROCESSING`` comments, ``native_finish_reason``, ``cost`` in usage;
- deepseek: ``reasoning_content``, ``: keep-alive`` comments, usage on the finish chunk;
- mistral: the last content arrives on the finish chunk together with usage;
- together: ``finish_reason: "eos"``, usage on the finish chunk, ``usage: null`` before;
- fireworks: ``usage: null`` on every chunk, usage on the finish chunk;
- xai: ``reasoning_content`` and no ``finish_reason`` key at all until the end;
- vllm: ``reasoning`` (newer vLLM), a separate ``choices: []`` usage chunk;
- llamacpp: no ``data: [DONE]``: the body ends after the finish chunk (its default model
  name is ``gpt-3.5-turbo``);
- lmstudio: a separate usage chunk, then ``[DONE]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CompatBody:
    """A body and what it adds up to (taken from the body as written, not from llmring)."""

    body: bytes
    text: str
    reasoning: str | None
    raw_finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    response_id: str
    served_model: str


def sse(*events: dict[str, Any] | str, done: bool = True) -> bytes:
    """``data:`` lines (a str starting with ':' is a comment line), then ``[DONE]``."""
    out = []
    for event in events:
        if isinstance(event, str):
            out.append(f"{event}\n\n")
        else:
            out.append(f"data: {json.dumps(event, separators=(',', ':'))}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def _chunk(
    cid: str, model: str, delta: dict[str, Any], finish: str | None = None, **more: Any
) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": 1730000000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        **more,
    }


_G = ("chatcmpl-7f3a9c1e-groq", "llama-3.3-70b-versatile")
GROQ = CompatBody(
    sse(
        _chunk(*_G, {"role": "assistant", "content": ""}, x_groq={"id": "req_01jbd6g2qd"}),
        _chunk(*_G, {"content": "Hello"}),
        _chunk(*_G, {"content": " there"}),
        _chunk(
            *_G,
            {},
            "stop",
            x_groq={
                "id": "req_01jbd6g2qd",
                "usage": {
                    "queue_time": 0.017,
                    "prompt_tokens": 40,
                    "prompt_time": 0.002,
                    "completion_tokens": 3,
                    "completion_time": 0.009,
                    "total_tokens": 43,
                    "total_time": 0.011,
                },
            },
        ),
    ),
    "Hello there",
    None,
    "stop",
    40,
    3,
    *_G,
)

_OR = ("gen-1730000000-Xk2p", "openai/gpt-4o-mini")
_OR_MORE = {"provider": "OpenAI", "system_fingerprint": "fp_0ba0d124f1"}
OPENROUTER = CompatBody(
    sse(
        ": OPENROUTER PROCESSING",
        ": OPENROUTER PROCESSING",
        {
            **_chunk(*_OR, {"role": "assistant", "content": "Bonjour"}, **_OR_MORE),
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": "Bonjour"},
                    "finish_reason": None,
                    "native_finish_reason": None,
                    "logprobs": None,
                }
            ],
        },
        {
            **_chunk(*_OR, {}, **_OR_MORE),
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": ""},
                    "finish_reason": "stop",
                    "native_finish_reason": "stop",
                    "logprobs": None,
                }
            ],
        },
        {
            **_chunk(*_OR, {}, **_OR_MORE),
            "choices": [],
            "usage": {
                "prompt_tokens": 12,
                "completion_tokens": 2,
                "total_tokens": 14,
                "cost": 0.0000030,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        },
    ),
    "Bonjour",
    None,
    "stop",
    12,
    2,
    *_OR,
)

_D = ("5c8a0f2e-6b1d-4d1e-9a7b-deepseek", "deepseek-reasoner")
DEEPSEEK = CompatBody(
    sse(
        ": keep-alive",
        _chunk(*_D, {"role": "assistant", "content": None, "reasoning_content": ""}),
        _chunk(*_D, {"content": None, "reasoning_content": "Two plus two"}),
        _chunk(*_D, {"content": None, "reasoning_content": " is four."}),
        ": keep-alive",
        _chunk(*_D, {"content": "4", "reasoning_content": None}),
        _chunk(
            *_D,
            {"content": "", "reasoning_content": None},
            "stop",
            usage={
                "prompt_tokens": 15,
                "completion_tokens": 9,
                "total_tokens": 24,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 8},
                "prompt_cache_hit_tokens": 0,
                "prompt_cache_miss_tokens": 15,
            },
        ),
    ),
    "4",
    "Two plus two is four.",
    "stop",
    15,
    9,
    *_D,
)

_M = ("cmpl-e5cc70bb28c444948073e77776eb30ef", "mistral-small-2503")
MISTRAL = CompatBody(
    sse(
        _chunk(*_M, {"role": "assistant", "content": ""}),
        _chunk(*_M, {"content": "Rome"}),
        # The last content, the finish reason and usage together (no separate usage chunk).
        _chunk(
            *_M,
            {"content": " it is."},
            "stop",
            usage={"prompt_tokens": 9, "total_tokens": 13, "completion_tokens": 4},
        ),
    ),
    "Rome it is.",
    None,
    "stop",
    9,
    4,
    *_M,
)

_T = ("8f3b2c1d0e-together", "meta-llama/Llama-3.3-70B-Instruct-Turbo")


def _together(text: str, finish: str | None, usage: dict[str, int] | None) -> dict[str, Any]:
    return {
        "id": _T[0],
        "object": "chat.completion.chunk",
        "created": 1730000000,
        "model": _T[1],
        "choices": [
            {
                "index": 0,
                "text": text,
                "logprobs": None,
                "finish_reason": finish,
                "seed": None,
                "delta": {
                    "token_id": 9906,
                    "role": "assistant",
                    "content": text,
                    "tool_calls": None,
                },
            }
        ],
        "usage": usage,
    }


TOGETHER = CompatBody(
    sse(
        _together("Hi", None, None),
        _together("!", None, None),
        _together("", "eos", {"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23}),
    ),
    "Hi!",
    None,
    "eos",
    20,
    3,
    *_T,
)

_F = ("c1f2e3d4-fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct")
FIREWORKS = CompatBody(
    sse(
        _chunk(*_F, {"role": "assistant"}, usage=None),
        _chunk(*_F, {"content": "Yes"}, usage=None),
        _chunk(
            *_F, {}, "length", usage={"prompt_tokens": 7, "total_tokens": 8, "completion_tokens": 1}
        ),
    ),
    "Yes",
    None,
    "length",
    7,
    1,
    *_F,
)

_X = ("a8d1c3e5-xai", "grok-3-mini")


def _xai(delta: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "id": _X[0],
        "object": "chat.completion.chunk",
        "created": 1730000000,
        "model": _X[1],
        "choices": [{"index": 0, "delta": delta}],
        "system_fingerprint": "fp_6b0ed5b5dd",
        **more,
    }


XAI = CompatBody(
    sse(
        _xai({"reasoning_content": "Short.", "role": "assistant"}),
        _xai({"content": "Ok", "role": "assistant"}),
        {
            **_xai({"role": "assistant"}),
            "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": 11,
                "completion_tokens": 6,
                "total_tokens": 17,
                "prompt_tokens_details": {"text_tokens": 11, "cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 5},
            },
        },
    ),
    "Ok",
    "Short.",
    "stop",
    11,
    6,
    *_X,
)

_V = ("chatcmpl-9b8a7c6d5e4f-vllm", "Qwen/Qwen3-8B")
VLLM = CompatBody(
    sse(
        _chunk(*_V, {"role": "assistant", "content": ""}),
        _chunk(*_V, {"reasoning": "Greet back."}),
        _chunk(*_V, {"content": "Hello!"}),
        _chunk(*_V, {"content": ""}, "stop"),
        {
            "id": _V[0],
            "object": "chat.completion.chunk",
            "created": 1730000000,
            "model": _V[1],
            "choices": [],
            "usage": {"prompt_tokens": 14, "total_tokens": 22, "completion_tokens": 8},
        },
    ),
    "Hello!",
    "Greet back.",
    "stop",
    14,
    8,
    *_V,
)


def _llamacpp(delta: dict[str, Any], finish: str | None, **more: Any) -> dict[str, Any]:
    return {
        "choices": [{"finish_reason": finish, "index": 0, "delta": delta}],
        "created": 1730000000,
        "id": "chatcmpl-Qm3LwqkVnY",
        "model": "gpt-3.5-turbo",
        "system_fingerprint": "b4500-adc5dd92",
        "object": "chat.completion.chunk",
        **more,
    }


LLAMACPP = CompatBody(
    sse(
        _llamacpp({"content": "Sure"}, None),
        _llamacpp({"content": "."}, None),
        _llamacpp(
            {},
            "stop",
            usage={"completion_tokens": 2, "prompt_tokens": 18, "total_tokens": 20},
            timings={"prompt_n": 18, "predicted_n": 2, "predicted_per_second": 61.2},
        ),
        done=False,  # llama.cpp's server ends the body here
    ),
    "Sure.",
    None,
    "stop",
    18,
    2,
    "chatcmpl-Qm3LwqkVnY",
    "gpt-3.5-turbo",
)

_L = ("chatcmpl-lmstudio4k2", "qwen2.5-7b-instruct")
LMSTUDIO = CompatBody(
    sse(
        _chunk(*_L, {"role": "assistant", "content": "Hey"}, system_fingerprint=_L[1]),
        _chunk(*_L, {}, "stop", system_fingerprint=_L[1]),
        {
            "id": _L[0],
            "object": "chat.completion.chunk",
            "created": 1730000000,
            "model": _L[1],
            "choices": [],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        },
    ),
    "Hey",
    None,
    "stop",
    5,
    1,
    *_L,
)

#: Each preset's body.
PRESET_BODIES: dict[str, CompatBody] = {
    "groq": GROQ,
    "openrouter": OPENROUTER,
    "deepseek": DEEPSEEK,
    "mistral": MISTRAL,
    "together": TOGETHER,
    "fireworks": FIREWORKS,
    "xai": XAI,
    "vllm": VLLM,
    "llamacpp": LLAMACPP,
    "lmstudio": LMSTUDIO,
}
