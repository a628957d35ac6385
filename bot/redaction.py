"""Secrets kept out of logs: token shapes and configured secret values are masked in every
record, whoever logs it.

Why a filter on the root handlers rather than care at each call: the libraries log too.
slack_sdk logs whole Web API responses at DEBUG (`oauth.v2.access` returns the bot token),
aiohttp logs request lines and tracebacks, an exception's text can hold a token, and a future
log line of ours may slip. A filter installed on every handler of the root logger sees every
record that reaches a log file, so one place masks them all.

What is masked (the shapes of the credentials drillbot handles):
- Slack tokens: `xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxe-` (and rotated `xoxe.xoxp-`),
  app-level `xapp-`;
- OpenAI-style API keys: `sk-...`, `sk-proj-...`, `sk-svcacct-...`;
- Discord bot tokens (three base64url parts joined by dots; a JWT has the same shape and is
  masked too);
- Fernet keys (`DRILLBOT_SECRET_KEY`: 43 base64url characters and `=`);
- the exact value of every secret setting (signing secret, client secret, the database URL's
  password...), whatever its shape.
A masked token keeps its kind prefix (`xoxb-[redacted]`), so a log still says which one it was.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from bot.config import Settings

MASK = "[redacted]"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Secret values shorter than this are not masked by value (they would mask ordinary words);
#: real secrets are far longer.
MIN_SECRET = 8

_PREFIXED = re.compile(
    r"(?P<kind>\b(?:xox[abpre](?:\.xox[abpe])?-|xapp-|sk-(?:proj-|svcacct-|admin-)?))"
    r"[A-Za-z0-9_\-]{6,}"
)
_UNPREFIXED = re.compile(
    # Discord bot token / JWT: three base64url parts joined by dots.
    r"(?<![A-Za-z0-9_\-.])[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{20,}"
    # A Fernet key: 32 bytes in urlsafe base64.
    r"|(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{43}="
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every token shape and every given secret value masked."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET:
            text = text.replace(secret, MASK)
    text = _PREFIXED.sub(lambda m: m.group("kind") + MASK, text)
    return _UNPREFIXED.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, its arguments, its exception and stack text.

    The arguments are merged into the message first (a token passed as `%s` is masked like one
    written inline), and the exception is formatted here and kept as text only, so no later
    formatter can print the unmasked original."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len))[::-1]
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record (or its secrets)
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info:
            record.exc_text = record.exc_text or self._formatter.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def secret_values(settings: Settings) -> list[str]:
    """The values of every secret setting (each key of a list such as
    `DRILLBOT_SECRET_KEY=new,old` on its own too), and the database URL's password."""
    values: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            raw = value.get_secret_value()
            values += [raw, *(part.strip() for part in raw.split(",") if "," in raw)]
    try:
        password = make_url(settings.database_url).password
    except ArgumentError:
        password = None
    if password:
        values.append(str(password))
    return values


def install(secrets: Iterable[str] = ()) -> RedactingFilter:
    """Put one redacting filter on every handler of the root logger (idempotent)."""
    redacting = RedactingFilter(secrets)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(redacting)
    return redacting


def configure_logging(
    verbose: bool, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """Warnings from everyone; with `verbose`, DEBUG from drillbot's own loggers (`bot.*`)
    only: a library's DEBUG output (slack_sdk prints whole API responses) stays off. Then
    the redacting filter on every root handler."""
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT, stream=stream or sys.stderr)
    logging.getLogger("bot").setLevel(logging.DEBUG if verbose else logging.NOTSET)
    install(secrets)
