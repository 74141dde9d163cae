from aiogram.fsm.state import State, StatesGroup


class Linking(StatesGroup):
    number = State()
    serial = State()


class Submitting(StatesGroup):
    reading = State()
    confirm = State()
