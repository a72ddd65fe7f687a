"""Text a runner controls, made safe to show: in a terminal, a CI log, JUnit XML, report.md.

A runner is untrusted code. What it sends (signatures, error types and messages, hello
fields, faults, its stderr, its build output) may hold escape sequences that clear or
retitle a terminal, carriage returns that overwrite a line, or text a CI system reads as
a command: GitHub Actions takes a line starting with `::` (`::error::`, `::add-mask::`,
`::stop-commands::`) or holding `##[`, Azure Pipelines one holding `##vso[`. Every such
value is shown through this module:

- `escape`: C0 and C1 controls, DEL, line and paragraph separators, zero-width and bidi
  controls, the BOM and lone surrogates become `\\uXXXX` (`\\n`, `\\r`, `\\t` for the usual
  three), the backslash is doubled (so an escape is never ambiguous), and `##` is broken as
  `#\\u0023`: one line, nothing a terminal or a log parser acts on.
- `line`: one value on one line, cut to a length with the full length said.
- `quoted`: the same between quotes (like repr), `(none)` for None.
- `block`: a multi-line text (stderr, build output) as lines behind a fixed prefix, so no
  line a runner wrote can start a line of ours.
"""

from __future__ import annotations

import re

# C0, DEL, C1, soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width and bidi controls,
# line/paragraph separators, word joiner and invisible operators, bidi isolates, BOM, interlinear
# annotation controls, lone surrogates, and the backslash itself.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069"
    "\ufeff\ufff9-\ufffb\ud800-\udfff\\\\]|##"
)
# The same characters without the backslash, the line break and the tab: what no file the suite writes
# may hold raw (report.html's final pass writes each as a \uXXXX escape, valid text and valid JSON).
CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069"
    "\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", "##": "#\\u0023"}


def _sub(m: re.Match[str]) -> str:
    c = m.group()
    return _SHORT.get(c) or f"\\u{ord(c):04x}"


def escape(s: str) -> str:
    """s with everything a terminal, a log parser or a reader could be fooled by written as an escape."""
    return _UNSAFE.sub(_sub, s)


def line(value: object, limit: int = 200) -> str:
    """A value as one safe line of at most about `limit` characters, its full length said when cut."""
    if value is None:
        return "(none)"
    s = value if isinstance(value, str) else str(value)
    if len(s) > limit:
        return escape(s[:limit]) + f"… ({len(s):,} chars)"
    return escape(s)


def cut(s: str, limit: int) -> str:
    """s cut to at most `limit` characters, an ellipsis marking the cut (never a silent cut)."""
    return s if len(s) <= limit else s[: limit - 1] + "…"


def quoted(value: str | None, limit: int = 120) -> str:
    """line() between single quotes: where the ends of a value matter (a trailing space, an empty string)."""
    if value is None:
        return "(none)"
    if len(value) > limit:
        return "'" + escape(value[:limit]).replace("'", "\\'") + f"'… ({len(value):,} chars)"
    return "'" + escape(value).replace("'", "\\'") + "'"


def message(text: str) -> str:
    """A message that may end in what a runner wrote (a failed build's output, a handshake gone wrong):
    its first line escaped, the rest as a block."""
    first, _, rest = text.partition("\n")
    return "\n".join([line(first, 500), *block(rest)]) if rest.strip() else line(first, 500)


def block(text: str, prefix: str = "    | ", last: int = 10, width: int = 300) -> list[str]:
    """The last `last` lines of a multi-line text, each escaped, cut and behind `prefix`."""
    lines = text.strip("\n").splitlines()[-last:]
    return [prefix + line(x, width) for x in lines]


def decimal(text: str | bytes, max_digits: int = 19) -> int | None:
    """The integer that plain decimal text stands for: ASCII digits only, at most `max_digits` of them
    (19: any 63-bit count). None for anything else. int() and str.isdigit() take other Unicode digits
    ('²' passes isdigit and int() raises) and int() raises on text past Python's 4,300-digit limit: text
    from a runner, a client or a command line reaches int() through here."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if len(raw) > max_digits or not re.fullmatch(rb"[0-9]+", raw):
        return None
    return int(raw)
