"""File names built from user input, made safe to use as one path component.

Why: an export or a stats chart is named after the user and workspace (`/as NAME` on the
console, a display name or id elsewhere), and a name like `../../pwned` or `C:\\x` must never
reach a directory other than the one the adapter writes to, nor surprise a chat client that
shows the name. Every adapter passes a file name it got from the core through `safe_filename`.
"""

from __future__ import annotations

import re
import unicodedata

#: What a name may keep: letters, digits, dot, dash, underscore (ASCII, so every file system
#: and chat client takes it).
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Room for the longest extension under the usual 255-byte limit of a file name.
MAX_FILENAME = 120
FALLBACK = "drillbot-file"


def safe_filename(name: str) -> str:
    """`name` as one harmless path component: separators, `..`, control and non-ASCII
    characters become `_`; no leading dot (hidden file, `..`); at most `MAX_FILENAME`
    characters, keeping the extension."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE.sub("_", ascii_name)
    cleaned = re.sub(r"\.{2,}", "_", cleaned).lstrip("._-")
    if len(cleaned) > MAX_FILENAME:
        _, dot, ext = cleaned.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        cleaned = cleaned[: MAX_FILENAME - len(keep) - 1].rstrip(".") + ("." + keep if keep else "")
    return cleaned or FALLBACK
