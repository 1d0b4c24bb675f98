"""How query text becomes words, and how a hit's text is highlighted: one place for both backends.

Words are normalised by the same analyser the embedded index uses (split on anything that is not a
letter or digit, lower-cased, folded to ASCII: "Müller" and "muller" are one word), so a query and
a document agree on what a word is. Each word may differ from a document's word by a few typos,
more for longer words (as Meilisearch does: none up to 3 letters, one up to 7, then two), and the
last word is also matched as a prefix, because people search while they type.

Snippets are built here rather than taken from the engine: tantivy returns none for fuzzy and
prefix matches, and a snippet must show why a document matched whatever the match was. Everything
is HTML-escaped; only our own ``<mark>`` tags are added.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import tantivy
from rapidfuzz.distance import OSA

MAX_WORDS = 10
MAX_WORD_CHARS = 40  # longer "words" (hashes, base64) are dropped, as the index drops them
SNIPPET_CHARS = 180
SCAN_CHARS = 20_000  # look for a match this far into a long text, no further

ANALYZER_NAME = "atrium"
_TOKEN = re.compile(r"[^\W_]+")


def make_analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(MAX_WORD_CHARS + 1))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


_ANALYZER = make_analyzer()


@dataclass(frozen=True)
class Word:
    text: str  # normalised
    distance: int  # typos allowed
    prefix: bool  # also match words that start with it


def typo_distance(word: str) -> int:
    if len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


@functools.lru_cache(maxsize=65_536)
def normalise(token: str) -> str:
    parts: list[str] = _ANALYZER.analyze(token)
    return "".join(parts)


def words_of(text: str) -> list[Word]:
    """The words of a query, at most ``MAX_WORDS``, duplicates dropped, the last one a prefix."""
    seen: list[str] = []
    # Lone surrogates (possible in a Python string, never in UTF-8) would stop the analyser.
    text = text.encode("utf-8", "ignore").decode("utf-8")
    for token in _ANALYZER.analyze(text):
        if token and token not in seen:
            seen.append(token)
        if len(seen) == MAX_WORDS:
            break
    return [Word(t, typo_distance(t), prefix=(i == len(seen) - 1)) for i, t in enumerate(seen)]


@functools.lru_cache(maxsize=262_144)
def matches(token: str, word: Word) -> bool:
    """Whether a document's (normalised) word matches a query word: exactly, as a prefix (the
    last word), or within its typos (optimal string alignment: a swap of two letters is one
    typo). Cached: the same words recur across hits and queries."""
    text, d = word.text, word.distance
    if token == text or (word.prefix and token.startswith(text)):
        return True
    if not d:
        return False
    if abs(len(token) - len(text)) <= d and OSA.distance(text, token, score_cutoff=d) <= d:
        return True
    if word.prefix:
        # A prefix with typos: some beginning of the token is within reach of the word.
        return any(
            OSA.distance(text, token[:n], score_cutoff=d) <= d
            for n in range(max(1, len(text) - d), min(len(token), len(text) + d) + 1)
        )
    return False


class Marker:
    """Marks a query's words in the texts of its hits. One per query: it remembers each raw
    word's verdict, so the words that recur across hits cost one dictionary look-up."""

    def __init__(self, words: Sequence[Word]) -> None:
        self.words = tuple(words)
        self._verdicts: dict[str, bool] = {}

    def _matches(self, raw: str) -> bool:
        verdict = self._verdicts.get(raw)
        if verdict is None:
            token = normalise(raw)
            verdict = bool(token) and any(matches(token, w) for w in self.words)
            self._verdicts[raw] = verdict
        return verdict

    def spans(self, text: str, limit: int) -> Iterator[tuple[int, int]]:
        if not self.words:
            return
        for match in _TOKEN.finditer(text, 0, min(len(text), limit)):
            if self._matches(match.group()):
                yield match.start(), match.end()

    def title(self, text: str) -> str:
        """The whole (short) text, escaped, with its matching words marked."""
        return _marked(text, list(self.spans(text, len(text))))

    def snippet(self, text: str, size: int = SNIPPET_CHARS) -> str:
        """A window of about ``size`` characters around the first match, escaped and marked;
        the beginning of the text when nothing in it matches (the title did)."""
        text = " ".join(text.split())
        first = next(self.spans(text, SCAN_CHARS), None)
        if first is None:
            return html.escape(_cut(text, 0, size))
        start = max(0, first[0] - size // 3)
        if start:
            space = text.rfind(" ", 0, start)
            start = space + 1 if space >= 0 and start - space < 20 else start
        end = min(len(text), start + size)
        if end < len(text):
            space = text.find(" ", end)
            end = space if 0 <= space - end < 20 else end
        window = text[start:end]
        marked = _marked(window, list(self.spans(window, len(window))))
        return ("… " if start else "") + marked + (" …" if end < len(text) else "")


def _marked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    out: list[str] = []
    position = 0
    for start, end in spans:
        out.append(html.escape(text[position:start]))
        out.append("<mark>" + html.escape(text[start:end]) + "</mark>")
        position = end
    out.append(html.escape(text[position:]))
    return "".join(out)


def highlight(text: str, words: Sequence[Word]) -> str:
    return Marker(words).title(text)


def snippet(text: str, words: Sequence[Word], size: int = SNIPPET_CHARS) -> str:
    return Marker(words).snippet(text, size)


def _cut(text: str, start: int, size: int) -> str:
    if len(text) <= size:
        return text
    end = text.rfind(" ", start, start + size)
    return text[start : end if end > start else start + size] + " …"
