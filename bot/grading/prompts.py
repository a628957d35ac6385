"""Prompt templates of the LLM grader: Jinja2 files in `prompts/`, each with a version.

Why templates live in files: prompts change more often than code and every change shifts
grades, so each template declares its version on its first line (`{# version: grade-v1 #}`) and
that version is stored with every grade it produced. A template has two blocks: `system`
(static instructions first, then the question's rubric, so a provider can cache the prefix) and
`user` (the untrusted text, inside a delimiter the caller draws at random for every call).

The context holds user text (answers), so the environment never autoescapes or evaluates it as
template source: Jinja renders variables as plain strings.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from bot.config import PROMPTS_DIR
from bot.errors import PromptError

VERSION = re.compile(r"\{#\s*version:\s*([A-Za-z0-9_.-]+)\s*#\}")
BLOCKS = ("system", "user")



@dataclass(frozen=True)
class Prompt:
    """A rendered template: the two messages and the template's version."""

    system: str
    user: str
    version: str


def new_delimiter(text: str) -> str:
    """A random tag name for one call, guaranteed not to occur in the text it wraps."""
    while True:
        tag = f"answer-{secrets.token_hex(6)}"
        if tag not in text:
            return tag


class Prompts:
    """Loads `prompts/*.j2` once and renders their blocks."""

    def __init__(self, directory: Path = PROMPTS_DIR) -> None:
        self.directory = directory
        self._loader = jinja2.FileSystemLoader(directory)
        self._versions: dict[str, str] = {}
        self._env = jinja2.Environment(
            loader=self._loader,
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def version(self, name: str) -> str:
        """The version a template declares; a template without one is refused."""
        if name not in self._versions:
            try:
                source, _, _ = self._loader.get_source(self._env, f"{name}.j2")
            except jinja2.TemplateNotFound as exc:
                raise PromptError(f"no template {name}.j2 in {self.directory}") from exc
            found = VERSION.search(source)
            if not found:
                raise PromptError(f"{name}.j2 declares no version ({{# version: ... #}})")
            self._versions[name] = found.group(1)
        return self._versions[name]

    def render(self, name: str, **context: Any) -> Prompt:
        """Render both blocks of `name.j2` with the same context."""
        version = self.version(name)
        template = self._env.get_template(f"{name}.j2")
        missing = [b for b in BLOCKS if b not in template.blocks]
        if missing:
            raise PromptError(f"{name}.j2 lacks block(s) {', '.join(missing)}")
        ctx = template.new_context(context)
        system, user = ("".join(template.blocks[b](ctx)).strip() for b in BLOCKS)
        return Prompt(system=system, user=user, version=version)
