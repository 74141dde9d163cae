"""`manage.py ivr_prompts`: every prompt the phone menu can ask for, as a file Asterisk plays."""

import io
import shutil
import wave

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from botbridge.phone_texts import CATALOGUE, PROMPTS, prompt_names, prompt_text

needs_voice = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs espeak-ng and sox: run scripts/setup-voice"
)


def render(out, *args) -> str:
    output = io.StringIO()
    call_command("ivr_prompts", "--out", str(out), *args, stdout=output)
    return output.getvalue()


@needs_voice
def test_every_prompt_is_an_8_khz_mono_16_bit_wav_named_as_the_menu_asks(phone_sounds):
    folder = phone_sounds / "pokaznyk"
    names = prompt_names()
    assert {path.stem for path in folder.glob("*.wav")} == set(names)
    for name in names:
        with wave.open(str(folder / f"{name}.wav")) as sound:
            assert (sound.getframerate(), sound.getnchannels(), sound.getsampwidth()) == (8000, 1, 2), name
            assert sound.getnframes() > 8000 * 0.2, name  # something is said


@needs_voice
def test_a_second_run_changes_nothing_and_keeps_a_recording_put_in_a_files_place(tmp_path, settings):
    settings.IVR_SOUNDS_PREFIX = "company/ivr/"
    render(tmp_path)
    greeting = tmp_path / "company/ivr/greeting.wav"
    assert greeting.exists()
    assert "0 rendered" in render(tmp_path)
    greeting.write_bytes(b"RIFF a recording")  # production puts a recorded prompt there
    output = render(tmp_path)
    assert "1 kept" in output and "greeting" in output and greeting.read_bytes() == b"RIFF a recording"
    assert f"{len(prompt_names())} rendered" in render(tmp_path, "--force")  # every file, recordings too
    with wave.open(str(greeting)) as sound:
        assert sound.getframerate() == 8000


def test_without_espeak_ng_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CommandError, match="apt-get install espeak-ng sox"):
        render(tmp_path / "sounds")
    assert not (tmp_path / "sounds").exists()


def test_the_catalogue_has_every_prompt_in_ukrainian_and_english():
    for name in CATALOGUE:
        with translation.override("uk"):
            ukrainian = prompt_text(name)
        with translation.override("en"):
            english = prompt_text(name)
        assert ukrainian != english, f"{name} has no Ukrainian text"
        assert ukrainian.strip() and english.strip()
    assert {f"refusal-{code}" for code in ("account_meter_mismatch", "too_many_attempts", "reading_decrease")} <= set(
        PROMPTS
    )
    with translation.override("uk"):
        assert prompt_text("ask-serial").count("цифри") == 1 and "букви пропустіть" in prompt_text("ask-serial")
        assert [prompt_text(f"digit-{digit}") for digit in "0179"] == ["нуль", "один", "сім", "дев'ять"]
        assert prompt_text("date-21") + " " + prompt_text("of-month-11") == "двадцять першого листопада"
