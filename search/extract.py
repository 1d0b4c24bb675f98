"""Text of an attached file, for its search document: PDF (pypdf), DOCX (its XML, read with
zipfile) and plain text (txt, csv). Anything else — images, spreadsheets, archives — is found by
its file name only.

Attachments come from users: a broken or hostile file must cost little and never stop the
indexer, so every reader is bounded (pages, bytes, characters) and any failure yields no text.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from xml.etree import ElementTree

log = logging.getLogger(__name__)

MAX_CHARS = 100_000
MAX_PDF_PAGES = 50
MAX_XML_BYTES = 20_000_000  # a DOCX's document.xml, uncompressed: refuses zip bombs

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT_TYPES = ("text/plain", "text/csv")


def extract_text(data: bytes, content_type: str, filename: str = "") -> str:
    """The readable text of a file, at most ``MAX_CHARS`` characters; "" when there is none."""
    name = filename.lower()
    try:
        if content_type == "application/pdf" or name.endswith(".pdf"):
            text = _pdf(data)
        elif content_type == DOCX or name.endswith(".docx"):
            text = _docx(data)
        elif content_type.startswith(TEXT_TYPES) or name.endswith((".txt", ".csv")):
            text = data[: MAX_CHARS * 4].decode("utf-8", errors="replace")
        else:
            return ""
    except Exception as exc:  # a damaged upload must not stop indexing; its name still counts
        log.info("no text from %s (%s): %s: %s", filename, content_type, type(exc).__name__, exc)
        return ""
    return _CONTROL.sub(" ", text)[:MAX_CHARS]


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    parts: list[str] = []
    size = 0
    for page in reader.pages[:MAX_PDF_PAGES]:
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text)
        if size >= MAX_CHARS:
            break
    return "\n".join(parts)


def _docx(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("word/document.xml")
        if info.file_size > MAX_XML_BYTES:
            raise ValueError("document.xml is too large")
        xml = archive.read(info)
    # The standard library parser expands no external entities; DOCX needs none.
    root = ElementTree.fromstring(xml)  # noqa: S314 - size checked above, no DTD processing
    paragraphs = []
    for paragraph in root.iter(f"{_W}p"):
        texts = [node.text or "" for node in paragraph.iter(f"{_W}t")]
        if texts:
            paragraphs.append("".join(texts))
    return "\n".join(paragraphs)
