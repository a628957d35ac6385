"""`DRILLBOT_SECRET_KEY`: a list of Fernet keys, checked at start-up.

Why keys and not a passphrase: a passphrase (`DRILLBOT_SECRET_KEY=a` used to start) stretched
by an unsalted HKDF is as strong as the passphrase, and one key cannot be rotated without
silencing every workspace. A Fernet key is 32 random bytes (urlsafe base64); the list is
newest first: the first key encrypts, every key decrypts, so a key is rotated by putting a new
one in front and dropping the old one once every stored token has been re-encrypted
(docs/slack.md, "Rotating the secret key"). Checked without `cryptography`, so settings load
on an install without the Slack extra.
"""

from __future__ import annotations

import base64
import binascii

HOW_TO_MAKE = (
    'make one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)
#: 32 random bytes have about 30 distinct values; fewer than this is a made-up key.
MIN_DISTINCT_BYTES = 16


def parse_secret_keys(value: str) -> list[str]:
    """The keys of `value` (comma-separated, newest first), each a strong Fernet key; else a
    ValueError saying what is wrong (never the key itself) and how to make a key."""
    keys = [part.strip() for part in value.split(",") if part.strip()]
    if not keys:
        raise ValueError(f"DRILLBOT_SECRET_KEY is empty; {HOW_TO_MAKE}")
    for position, key in enumerate(keys, 1):
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        if len(raw) != 32 or len(key) != 44:
            raise ValueError(
                f"key {position} of DRILLBOT_SECRET_KEY is not a Fernet key (32 random bytes "
                f"in urlsafe base64, 44 characters); {HOW_TO_MAKE}. A passphrase used before "
                "goes in DRILLBOT_LEGACY_SECRET_KEY until the stored tokens are re-encrypted."
            )
        if len(set(raw)) < MIN_DISTINCT_BYTES:
            raise ValueError(
                f"key {position} of DRILLBOT_SECRET_KEY is not random enough; {HOW_TO_MAKE}"
            )
    return keys
