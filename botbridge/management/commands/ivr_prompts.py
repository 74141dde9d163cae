"""python manage.py ivr_prompts --out DIR [--language uk] [--force]"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from botbridge.phone_texts import prompt_names, prompt_text

# espeak-ng's voice for each language the portal speaks.
VOICES = {"uk": "uk", "en": "en"}
# What Asterisk plays as .wav: RIFF WAVE, PCM signed 16-bit, mono, 8000 Hz (its "wav" format;
# "wav16" would be 16 kHz). sox -D: no dither, so the same text gives the same file.
SOX_OUTPUT = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-D"]
# Which text each file was rendered from, and the file as written: a file that no longer
# matches was replaced by hand (a recording) and is kept.
MANIFEST = ".ivr-prompts.json"
MISSING = (
    "{tool} is not installed: the prompts are rendered with espeak-ng and sox. "
    "Run scripts/setup-voice, or install Debian's packages: sudo apt-get install espeak-ng sox"
)


class Command(BaseCommand):
    help = "Render every prompt of the phone menu (and the digits) into 8 kHz mono WAV files for Asterisk."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="Asterisk's sounds directory (or a language's under it)")
        parser.add_argument("--language", default="uk", choices=sorted(VOICES), help="the prompts' language")
        parser.add_argument("--force", action="store_true", help="render again even files replaced by recordings")

    def handle(self, *args, out: str, language: str, force: bool, **options) -> None:
        for tool in ("espeak-ng", "sox"):
            if shutil.which(tool) is None:
                raise CommandError(MISSING.format(tool=tool))
        folder = Path(out) / settings.IVR_SOUNDS_PREFIX
        folder.mkdir(parents=True, exist_ok=True)
        manifest_path = folder / MANIFEST
        manifest = _read_manifest(manifest_path)
        with translation.override(language):
            texts = {name: prompt_text(name) for name in prompt_names()}
        voice = VOICES[language]
        wanted = {name: _digest(f"{voice}\n{text}".encode()) for name, text in texts.items()}

        todo, kept, unchanged = [], [], []
        for name in texts:
            path = folder / f"{name}.wav"
            entry = manifest.get(name)
            ours = path.exists() and entry is not None and entry.get("wav") == _digest(path.read_bytes())
            if path.exists() and not ours and not force:
                kept.append(name)
            elif ours and entry.get("text") == wanted[name] and not force:
                unchanged.append(name)
            else:
                todo.append(name)

        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            digests = pool.map(lambda name: _render(texts[name], voice, folder / f"{name}.wav"), todo)
            written = dict(zip(todo, digests, strict=True))
        for name, wav in written.items():
            manifest[name] = {"text": wanted[name], "wav": wav}
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")

        self.stdout.write(
            self.style.SUCCESS(
                f"{len(texts)} prompts in {folder}: {len(written)} rendered, {len(unchanged)} unchanged, "
                f"{len(kept)} kept as replaced by hand."
            )
        )
        if kept:
            self.stdout.write(f"Kept (use --force to render them again): {', '.join(kept)}")


def _render(text: str, voice: str, path: Path) -> str:
    """`text` spoken by espeak-ng, turned into Asterisk's WAV by sox; the new file's digest."""
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".ivr-prompt-") as scratch:
        spoken, converted = Path(scratch) / "spoken.wav", Path(scratch) / "converted.wav"
        # The text goes through stdin: no prompt can be taken for an option.
        _run(["espeak-ng", "-v", voice, "-w", str(spoken), "--stdin"], stdin=text)
        _run(["sox", str(spoken), *SOX_OUTPUT, str(converted)])
        data = converted.read_bytes()
        # Replaced in one step: Asterisk playing the prompt meanwhile reads the old file or the new one.
        os.replace(converted, path)
    return _digest(data)


def _run(command: list[str], stdin: str | None = None) -> None:
    try:
        subprocess.run(command, input=stdin, text=True, capture_output=True, check=True, timeout=60)  # noqa: S603
    except subprocess.CalledProcessError as failure:
        raise CommandError(f"{command[0]} failed ({failure.returncode}): {failure.stderr.strip()}") from None
    except subprocess.TimeoutExpired:
        raise CommandError(f"{command[0]} took longer than a minute") from None


def _read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
