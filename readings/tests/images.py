"""Pictures for the photo tests, made with Pillow: a meter photo as phones write it (GPS and
camera in EXIF, rotated by the Orientation tag), PNG, HEIC, and things that are not photos."""

import io

from PIL import Image
from PIL.ExifTags import GPS, IFD, Base

KYIV_GPS = {
    GPS.GPSLatitudeRef: "N",
    GPS.GPSLatitude: (50.0, 27.0, 1.5),
    GPS.GPSLongitudeRef: "E",
    GPS.GPSLongitude: (30.0, 31.0, 24.2),
}


def jpeg_with_location(*, width: int = 64, height: int = 32, orientation: int = 1) -> bytes:
    """A JPEG with the sender's location, camera and time in EXIF; `orientation` 6: the camera
    was turned, and viewers rotate the stored (landscape) pixels 90° clockwise to show it."""
    image = Image.new("RGB", (width, height), "white")
    image.paste((200, 0, 0), (0, 0, width // 2, height))  # a red left half, to tell rotations apart
    exif = Image.Exif()
    exif[Base.Make] = "PhoneMaker"
    exif[Base.Model] = "Phone 12"
    exif[Base.DateTime] = "2026:11:28 10:00:00"
    exif[Base.Orientation] = orientation
    exif.get_ifd(IFD.GPSInfo).update(KYIV_GPS)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 128, 0, 128)).save(out, format="PNG")
    return out.getvalue()


def heic(width: int = 64, height: int = 48) -> bytes:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (width, height), "blue").save(out, format="HEIF")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, format="GIF")
    return out.getvalue()


def bomb_png() -> bytes:
    """A small PNG whose header promises a huge bitmap (a decompression bomb)."""
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, format="PNG", optimize=True)
    return out.getvalue()
