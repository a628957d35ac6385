"""What user text may hold once it is in: no control characters a database or a terminal
chokes on.

Why at intake, before anything is stored: PostgreSQL refuses a NUL in text (`invalid byte
sequence for encoding "UTF8": 0x00`), and answers are stored in shared batches, so one such
answer failed every answer committed with it; a lone surrogate (JSON allows `\\ud800`) cannot
be encoded at all. C0 controls carry no meaning in an answer or a name. Newlines and tabs do,
and stay.
"""

from __future__ import annotations

import re

#: C0 controls except tab and newline (a carriage return goes too: `\r\n` becomes `\n`).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f]")
#: A surrogate code point left alone (a pair would have been decoded into one character).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` without C0 controls (newline and tab kept) and with every lone surrogate
    replaced by U+FFFD, the replacement character; everything else is kept as it is."""
    return _LONE_SURROGATE.sub("\ufffd", _CONTROLS.sub("", text))
