"""Scripted chat models for tests (LangChain's fakes lack bind_tools)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import Runnable


class ScriptedChatModel(FakeMessagesListChatModel):
    """Replies with the scripted messages in turn and records every prompt it was given."""

    seen: list[list[BaseMessage]] = []

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.seen.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)


class BrokenChatModel(ScriptedChatModel):
    """An endpoint that is down."""

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise TimeoutError("the model endpoint did not answer")


class Killed(BaseException):
    """The process dying half way through a turn (not an Exception, so nothing in Parley catches it)."""


class DiesOnceChatModel(ScriptedChatModel):
    """Replies as scripted, except that the process dies on the second call."""

    calls: int = 0
    dead: bool = False

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls += 1
        if self.calls == 2:
            self.dead = True
            raise Killed
        return super()._generate(messages, stop, run_manager, **kwargs)
