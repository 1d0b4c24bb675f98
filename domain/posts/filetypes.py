"""What kind of file an upload is, decided from its bytes, and an image's size from its header.

The content type a browser sends is whatever the client says (and a file's name is whatever the
user typed), so neither decides how a file is stored or served: these bytes do. Only the types of
``ALLOWED`` are accepted; raster images (PNG, JPEG, GIF, WebP) are the only ones ever shown
inline, and their width and height are read from the first bytes of the file, by hand, so no
image library is needed and nothing is decoded on the server.

Text is accepted as plain text (or CSV when the name ends in ``.csv``) when it is valid UTF-8
without control characters; text that a browser would take for HTML, SVG or XML is refused, so
no markup ever leaves the server as a file, even as a download. Office files are ZIP archives
told apart by the entries they hold (``word/``, ``xl/``, ``ppt/``; an OpenDocument names its type
in a first entry called ``mimetype``).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from dataclasses import dataclass

PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
PDF = "application/pdf"
TEXT = "text/plain"
CSV = "text/csv"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ZIP = "application/zip"

IMAGES = frozenset({PNG, JPEG, GIF, WEBP})
ALLOWED = IMAGES | {PDF, TEXT, CSV, DOCX, XLSX, PPTX, ODT, ODS, ZIP}

# What a browser's sniffer (WHATWG "MIME Sniffing", HTML and XML patterns) would take for markup.
_MARKUP = re.compile(
    rb"\A(?:\xef\xbb\xbf)?[\t\n\f\r ]*<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|"
    rb"table|a|style|title|b|body|br|p|!--|\?xml|svg)(?:[\s>/]|\Z)",
    re.IGNORECASE,
)
# C0 controls other than tab, newline, form feed and carriage return, and DEL: not text.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_OFFICE = (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX))
_ODF = {
    b"application/vnd.oasis.opendocument.text": ODT,
    b"application/vnd.oasis.opendocument.spreadsheet": ODS,
}


@dataclass(frozen=True)
class Sniffed:
    """An accepted file's type, and for a raster image its size in pixels."""

    content_type: str
    width: int | None = None
    height: int | None = None

    @property
    def is_image(self) -> bool:
        return self.content_type in IMAGES and bool(self.width) and bool(self.height)


class Markup(ValueError):
    """The file is HTML, SVG or XML."""


def sniff(data: bytes, filename: str) -> Sniffed | None:
    """The type of ``data``, or None when it is not one of ``ALLOWED``.

    ``filename`` only tells CSV from other text. Raises ``Markup`` for text a browser would
    render as a document.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _image(PNG, _png_size(data))
    if data.startswith(b"\xff\xd8\xff"):
        return _image(JPEG, _jpeg_size(data))
    if data.startswith((b"GIF87a", b"GIF89a")):
        return _image(GIF, _gif_size(data))
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _image(WEBP, _webp_size(data))
    if data.startswith(b"%PDF-"):
        return Sniffed(PDF)
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip(data)
    return _text(data, filename)


def _image(content_type: str, size: tuple[int, int] | None) -> Sniffed | None:
    """An image whose header cannot be read is refused: it would show as a broken picture."""
    if size is None or not all(size):
        return None
    return Sniffed(content_type, *size)


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _gif_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 10:
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return width, height


# Start-of-frame markers carry the size; C4 (Huffman tables), C8 and CC (arithmetic coding
# conditioning) share the range but are not frames.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        if length < 2:
            return None
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def _zip(data: bytes) -> Sniffed | None:
    # An OpenDocument's first entry is "mimetype", stored uncompressed: its name ends at byte 38.
    if data[30:38] == b"mimetype":
        for prefix, content_type in _ODF.items():
            if data[38:].startswith(prefix):
                return Sniffed(content_type)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            declared = _declared_odf(archive)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError):
        return None
    if declared is not None:
        return Sniffed(declared)
    if "[Content_Types].xml" in names:
        for folder, content_type in _OFFICE:
            if any(name.startswith(folder) for name in names):
                return Sniffed(content_type)
    return Sniffed(ZIP)


def _declared_odf(archive: zipfile.ZipFile) -> str | None:
    """The OpenDocument type a "mimetype" entry names (read only when it is small)."""
    try:
        info = archive.getinfo("mimetype")
    except KeyError:
        return None
    if info.file_size > 100:
        return None
    return _ODF.get(archive.read(info).strip())


def _text(data: bytes, filename: str) -> Sniffed | None:
    if not data or _CONTROL.search(data):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _MARKUP.match(data[:1024]):
        raise Markup(filename)
    return Sniffed(CSV if filename.lower().endswith(".csv") else TEXT)
