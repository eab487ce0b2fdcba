"""What a name may be: one rule for every name or label a person gives the system.

A user's display name, a department, a case category, a key-group kind and its levels, a
holiday, a place, a resident, an organisation, a grid named in a plan file, a scorecard's grade:
each is shown in pickers, lists, maps and exports, where a name that draws nothing, or reads
differently from what it is, misleads. So a name

- holds no control character (Unicode category Cc: NUL, tab, line breaks, ESC …);
- holds no bidirectional-text control (ALM, LRM, RLM, the embeddings and overrides
  U+202A–U+202E, the isolates U+2066–U+2069): "‮" turns "张三‮moc.evil" around on screen;
- holds no other control that draws nothing yet changes how the text reads
  (:data:`HIDDEN_CONTROLS`: the line and paragraph separators, the deprecated format controls,
  the interlinear annotation marks);
- shows something (:func:`server.domain.fields.has_visible_text`): zero-width spaces, BOMs,
  word joiners or Hangul fillers alone are as empty as spaces;
- is valid Unicode (no unpaired surrogates) and at most :data:`MAX_NAME` characters, or fewer
  where its field says so (a holiday 50, a place 100).

Spaces, CJK and ASCII punctuation, and a zero-width joiner between characters that show (an
emoji sequence) pass. :func:`name_problem` says what is wrong, or None; the use cases (API and
CLI alike) turn it into a 400 naming the field, the plan check into a ``bad_name`` problem.
"""

from __future__ import annotations

import unicodedata

from .fields import has_visible_text

MAX_NAME = 200

#: Bidirectional-text controls: ALM, LRM, RLM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)

#: Line and paragraph separators U+2028/U+2029 (a line break inside a name), the deprecated
#: format controls U+206A–U+206F, the interlinear annotation marks U+FFF9–U+FFFB (a re-attack
#: found them stored as sent).
HIDDEN_CONTROLS = frozenset("\u2028\u2029\u206a\u206b\u206c\u206d\u206e\u206f\ufff9\ufffa\ufffb")

CONTROL = "不能含控制字符或文字方向控制符 / must not contain control or bidi-override characters"
INVISIBLE = "应含可见文字 / must show some text (not only spaces or zero-width characters)"
NOT_UNICODE = "不是有效的 Unicode 文本 / not valid Unicode text"


def too_long(limit: int) -> str:
    return f"最多 {limit} 个字符 / at most {limit} characters"


def unshown_control(ch: str) -> bool:
    """A control character (Cc), a bidi control or another of :data:`HIDDEN_CONTROLS`."""
    return ch in BIDI_CONTROLS or ch in HIDDEN_CONTROLS or unicodedata.category(ch) == "Cc"


def line_problem(value: str) -> str | None:
    """Why ``value`` cannot stand on one line of a screen, or None: a control character
    (NUL, tab, newline, ESC …), a bidirectional-text control, or an unpaired surrogate."""
    if any(unshown_control(ch) for ch in value):
        return CONTROL
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return NOT_UNICODE
    return None


def name_problem(value: str, limit: int = MAX_NAME) -> str | None:
    """Why ``value`` (as it will be stored: the caller strips outer spaces) cannot be a name,
    or None. An empty name is the caller's to allow (a workday's) or refuse (required)."""
    if len(value) > limit:
        return too_long(limit)
    if bad := line_problem(value):
        return bad
    if value and not has_visible_text(value):
        return INVISIBLE
    return None
