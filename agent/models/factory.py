"""Pick the chat model from settings: the offline grounded responder or an OpenAI-compatible endpoint."""

from __future__ import annotations

import os
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from agent.models.local import GroundedChatModel
from config import Settings


def _offline_tiktoken() -> None:
    """langchain-openai counts tokens with tiktoken; its files ship inside llama-index-core (no download)."""
    import llama_index.core

    cache = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    if cache.is_dir():
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))


def make_chat_model(settings: Settings) -> BaseChatModel:
    if settings.llm == "openai":
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        _offline_tiktoken()
        return ChatOpenAI(
            base_url=settings.llm_base_url,
            api_key=SecretStr(settings.llm_api_key or ""),
            model=settings.llm_model,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,  # the client backs off exponentially between tries
            temperature=0.2,
        )
    return GroundedChatModel()
