"""Viber on the conversation engine (REST Bot API over httpx, no SDK): Viber posts callbacks to
/viber/webhook/, the adapter turns them into events and the engine's answers into messages."""
