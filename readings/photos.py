"""A meter photo made safe to keep: read by Pillow (never trusted by its name or content type),
limited in bytes and pixels, and written anew as a JPEG without any metadata (no location, no
camera, no time), turned upright first so the orientation the EXIF said is kept in the pixels."""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from readings.errors import PhotoNotImage, PhotoTooBig, PhotoTooManyPixels, PhotoWrongType

register_heif_opener()  # HEIC, the iPhone's own format, opens like any other image

MAX_BYTES = 10 * 1024 * 1024
# A decompression bomb is a small file that decodes to a huge bitmap; a phone's photo is 12–50 MP.
MAX_PIXELS = 60_000_000
FORMATS = {"JPEG", "PNG", "HEIF"}
# Kept photos are at most this many pixels on their long side: enough to read a meter's display.
KEPT_SIDE = 3000
JPEG_QUALITY = 85


@dataclass(frozen=True)
class CleanPhoto:
    content: bytes
    width: int
    height: int


def photo_clean(content: bytes) -> CleanPhoto:
    """The photo re-encoded without metadata; a typed refusal for anything else."""
    if len(content) > MAX_BYTES:
        raise PhotoTooBig(limit=MAX_BYTES // (1024 * 1024))
    with warnings.catch_warnings():
        # Pillow only warns between its limit and twice it: make every bomb an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(content)) as image:
                if image.format not in FORMATS:
                    raise PhotoWrongType(kind=image.format or "?")
                if image.width * image.height > MAX_PIXELS:
                    raise PhotoTooManyPixels(limit=MAX_PIXELS // 1_000_000)
                image.load()
                upright = ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoTooManyPixels(limit=MAX_PIXELS // 1_000_000) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise PhotoNotImage() from None
    upright = upright.convert("RGB")  # drops PNG's alpha and palettes; JPEG has neither
    upright.thumbnail((KEPT_SIDE, KEPT_SIDE))
    out = io.BytesIO()
    # A new image saved with no `exif=` and no `icc_profile=`: Pillow writes no metadata at all.
    upright.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanPhoto(content=out.getvalue(), width=upright.width, height=upright.height)
