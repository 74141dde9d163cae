"""aiogram FSM storage in the portal's database."""

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StorageKey
from asgiref.sync import sync_to_async

from botbridge import services


class DatabaseStorage(BaseStorage):
    def __init__(self) -> None:
        self.key_builder = DefaultKeyBuilder(with_bot_id=True, with_destiny=True)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        await sync_to_async(services.conversation_state_set)(key=self.key_builder.build(key), state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        state, _ = await sync_to_async(services.conversation_get)(key=self.key_builder.build(key))
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await sync_to_async(services.conversation_data_set)(key=self.key_builder.build(key), data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _, data = await sync_to_async(services.conversation_get)(key=self.key_builder.build(key))
        return data

    async def close(self) -> None:
        pass
