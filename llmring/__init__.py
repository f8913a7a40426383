"""llmring: one async API over OpenAI, Anthropic, Google Gemini and Ollama, over raw HTTP.

from llmring import LLMRing, LLMRequest, Message

async with LLMRing() as ring:
    request = LLMRequest(model="anthropic:claude-3-5-haiku-20241022",
                         messages=[Message(role="user", content="Count to 10")])
    async for chunk in ring.chat_stream(request):
        print(chunk.delta, end="", flush=True)
"""

from llmring._version import __version__ as __version__
from llmring.schemas import LLMRequest, LLMResponse, Message, StreamChunk, Usage
from llmring.service import LLMRing
from llmring.timeouts import Timeout

__all__ = ["LLMRequest", "LLMResponse", "LLMRing", "Message", "StreamChunk", "Timeout", "Usage"]
