"""Address text for search: one normal form and the tokens an index keeps of it.

A call-taker types "幸福路 12 号", "幸福路12号3单元502", "阳光小区 5栋" or "５幢"; the stored
门牌 reads "幸福路12号" and its rooms "幸福路12号3单元502室". Matching is by tokens, the same
on SQLite and PostgreSQL (no extension needed), each an indexed equality:

- every pair of adjacent CJK characters (幸福, 福路): a bigram finds a word typed in any part;
  a single CJK character that stands alone in the text (村) is kept as itself;
- every number as ``#12``, and with the unit word that follows it as ``12号`` (栋 幢 号楼 are one
  word, 单元 and 室 others): "12 号" finds 12号 and not 12栋, "12" finds both;
- Latin letters and digits together ("A3", "b12") in lower case.

A place matches a query when it holds every token of the query; the query's text is
normalised the same way first (full-width → ASCII, Chinese digits in a number → ASCII, spaces
and punctuation dropped).
"""

from __future__ import annotations

import re
import unicodedata

# Unit words that follow a number in an address, longest first; synonyms map to one word.
UNIT_WORDS: dict[str, str] = {
    "号楼": "栋",
    "单元": "单元",
    "栋": "栋",
    "幢": "栋",
    "座": "栋",
    "号": "号",
    "弄": "弄",
    "巷": "巷",
    "室": "室",
    "户": "室",
    "层": "层",
    "楼": "层",
    "组": "组",
}
_UNIT_RE = "|".join(sorted(UNIT_WORDS, key=len, reverse=True))
_CN_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PIECE = re.compile(rf"([0-9]+)\s*({_UNIT_RE})?|([{_CJK}]+)|([a-z][a-z0-9]*)")
_CN_NUMBER = re.compile(r"[〇零一二三四五六七八九]+(?=\s*(?:" + _UNIT_RE + r"))")

MAX_QUERY_TOKENS = 24


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters → ASCII), lower case, Chinese digits before a unit
    word as ASCII (三单元 → 3单元), runs of blanks → one space."""
    out = unicodedata.normalize("NFKC", text or "").lower()
    out = _CN_NUMBER.sub(lambda m: m.group(0).translate(_CN_DIGITS), out)
    return " ".join(out.split())


_NAME_SUFFIX = re.compile(r"(号楼|栋|幢|座|单元|室|户|号)$")


def place_key(name: str) -> str:
    """How two names of one place compare: "3栋" = "3号楼" = "3幢" = "3", "2单元" = "2",
    "502室" = "502". A name is registered once under one parent (an estate once in one
    community): the import and the API (``server/usecases/base_data/places.py``) both compare
    by this key."""
    text = normalise(name).replace(" ", "")
    return _NAME_SUFFIX.sub("", text) or text


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def tokens(text: str, *, query: bool = False) -> list[str]:
    """The tokens of an address (``query=False``: everything an index keeps) or of a query
    (``query=True``: a bare number is ``#12``, a number with a unit word only ``12号``).

    A door plate is a street and a number: the last two characters of a CJK run right before
    ``N号`` also make the token ``福路>12号`` — rare in a county (one door), so a search starts
    from it. Text order is kept, and duplicates are dropped."""
    norm = normalise(text)
    seen: dict[str, None] = {}
    before = ""  # the CJK run just before, for the door-plate token
    for m in _PIECE.finditer(norm):
        number, unit, cjk, latin = m.groups()
        if number is not None:
            num = str(int(number)) if len(number) < 12 else number
            if unit:
                word = num + UNIT_WORDS[unit]
                if before and UNIT_WORDS[unit] == "号":
                    seen[f"{before[-2:]}>{word}"] = None
                seen[word] = None
                if not query:
                    seen["#" + num] = None
            else:
                seen["#" + num] = None
            before = ""
        elif cjk is not None:
            for t in _bigrams(cjk):
                seen[t] = None
            before = cjk
        elif latin is not None:
            seen[latin] = None
            before = ""
    return list(seen)


def selectivity_class(token: str) -> int:
    """How rare a token usually is, rarest first: a door plate (``福路>12号``), a CJK pair, a
    number with its unit word, a Latin word, a bare number."""
    if ">" in token:
        return 0
    if token.startswith("#"):
        return 4
    if token[:1].isdigit():
        return 2
    if token.isascii():
        return 3
    return 1


def query_tokens(text: str) -> list[str]:
    """The tokens of a typed query, at most :data:`MAX_QUERY_TOKENS` (a pasted paragraph is
    cut, not refused)."""
    return tokens(text, query=True)[:MAX_QUERY_TOKENS]
