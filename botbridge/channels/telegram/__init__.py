"""Telegram on the conversation engine (aiogram 3): the workers (updates the webhook stored) and
long polling feed one dispatcher, whose handlers turn updates into events and the engine's
answers into Bot API calls."""
