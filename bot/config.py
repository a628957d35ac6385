"""Settings, read from the environment and `.env` with pydantic-settings.

Names are the canonical ones of docs/design.md ("Settings"). Secrets are `SecretStr`, so they never
appear in a repr, a log line or an error message. List-valued settings take comma-separated
values (`DRILLBOT_ADMINS=U1,U2`) or a JSON list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.clock import zone
from bot.secret_keys import parse_secret_keys


def data_dir(name: str) -> Path:
    """A top-level data folder (`questions`, `prompts`) wherever this install keeps it.

    A built wheel maps them into the package as `bot/_data/NAME` (pyproject's force-include);
    an editable checkout has them beside the package. Both must work, since `make run` uses the
    checkout and the Docker image and `pip install drillbot` use the wheel.
    """
    package = Path(__file__).resolve().parent
    packaged = package / "_data" / name
    return packaged if packaged.is_dir() else package.parent / name


SHIPPED_PACKS = data_dir("questions")
PROMPTS_DIR = data_dir("prompts")

Platform = Literal["console", "slack", "discord"]
#: How the LLM grader asks for structured output; the README says which fits which server.
JsonMode = Literal["schema", "json_object_schema", "json_object"]
JSON_MODES: tuple[str, ...] = get_args(JsonMode)


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


def _split_list(value: object) -> object:
    """Accept `a,b`, a JSON list, or a list."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of the bot; see the README's configuration table."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        "sqlite+aiosqlite:///data/drillbot.db", validation_alias=_env("DRILLBOT_DATABASE_URL")
    )
    grader: Literal["offline", "llm"] | None = Field(None, validation_alias=_env("DRILLBOT_GRADER"))
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    llm_model: str = Field("gpt-4o-mini", validation_alias=_env("DRILLBOT_LLM_MODEL"))
    llm_json_mode: JsonMode = Field("schema", validation_alias=_env("DRILLBOT_LLM_JSON_MODE"))
    #: Unset: not sent at all, since reasoning models reject any temperature.
    llm_temperature: float | None = Field(
        None, ge=0, le=2, validation_alias=_env("DRILLBOT_LLM_TEMPERATURE")
    )
    llm_timeout: float = Field(30, gt=0, le=600, validation_alias=_env("DRILLBOT_LLM_TIMEOUT"))
    llm_max_retries: int = Field(2, ge=0, le=5, validation_alias=_env("DRILLBOT_LLM_MAX_RETRIES"))
    llm_concurrency: int = Field(4, ge=1, le=64, validation_alias=_env("DRILLBOT_LLM_CONCURRENCY"))
    packs: Annotated[list[Path], NoDecode] = Field([], validation_alias=_env("DRILLBOT_PACKS"))
    timezone: str = Field("UTC", validation_alias=_env("DRILLBOT_TIMEZONE"))
    catchup_hours: float = Field(3, ge=0, le=48, validation_alias=_env("DRILLBOT_CATCHUP_HOURS"))
    admins: Annotated[list[str], NoDecode] = Field([], validation_alias=_env("DRILLBOT_ADMINS"))
    secret_key: SecretStr | None = Field(None, validation_alias=_env("DRILLBOT_SECRET_KEY"))
    legacy_secret_key: SecretStr | None = Field(
        None, validation_alias=_env("DRILLBOT_LEGACY_SECRET_KEY")
    )
    practice_limit: int = Field(30, ge=1, validation_alias=_env("DRILLBOT_PRACTICE_LIMIT"))
    scheduler: bool = Field(True, validation_alias=_env("DRILLBOT_SCHEDULER"))
    tick_seconds: float = Field(30, gt=0, validation_alias=_env("DRILLBOT_TICK_SECONDS"))
    http_host: str = Field("127.0.0.1", validation_alias=_env("DRILLBOT_HTTP_HOST"))
    http_port: int = Field(3000, validation_alias=_env("DRILLBOT_HTTP_PORT"))
    slack_bot_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_app_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_SIGNING_SECRET")
    )
    slack_mode: Literal["socket", "http"] = Field("socket", validation_alias=_env("SLACK_MODE"))
    slack_client_id: str | None = Field(None, validation_alias=_env("SLACK_CLIENT_ID"))
    slack_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_CLIENT_SECRET")
    )
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=_env("SLACK_API_URL"))
    slack_cache_seconds: float = Field(
        60, ge=0, le=3600, validation_alias=_env("SLACK_CACHE_SECONDS")
    )
    #: Messages a second per workspace the limiter allows (Slack publishes no number).
    slack_messages_per_second: int = Field(
        10, ge=1, le=1000, validation_alias=_env("SLACK_MESSAGES_PER_SECOND")
    )
    discord_token: SecretStr | None = Field(None, validation_alias=_env("DISCORD_TOKEN"))
    discord_message_content: bool = Field(False, validation_alias=_env("DISCORD_MESSAGE_CONTENT"))
    discord_command_guilds: Annotated[list[int], NoDecode] = Field(
        [], validation_alias=_env("DISCORD_COMMAND_GUILDS")
    )
    discord_shard_count: int | None = Field(None, validation_alias=_env("DISCORD_SHARD_COUNT"))
    discord_shard_ids: Annotated[list[int], NoDecode] = Field(
        [], validation_alias=_env("DISCORD_SHARD_IDS")
    )
    discord_api_base: str | None = Field(None, validation_alias=_env("DISCORD_API_BASE"))
    discord_gateway_url: str | None = Field(None, validation_alias=_env("DISCORD_GATEWAY_URL"))

    @field_validator(
        "packs", "admins", "discord_command_guilds", "discord_shard_ids", mode="before"
    )
    @classmethod
    def _lists(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("scheduler", mode="before")
    @classmethod
    def _on_off(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in {"on", "off"}:
            return value.strip().lower() == "on"
        return value

    @field_validator("secret_key")
    @classmethod
    def _strong_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_secret_keys(value.get_secret_value())
        return value

    @field_validator("llm_json_mode", mode="before")
    @classmethod
    def _json_mode(cls, value: object) -> object:
        """A mode the grader does not know stops start-up with the choices, not a 500 later."""
        if isinstance(value, str):
            value = value.strip().lower()
            if value not in JSON_MODES:
                raise ValueError(
                    f"DRILLBOT_LLM_JSON_MODE must be one of {', '.join(JSON_MODES)} (got "
                    f"{value!r}): schema for OpenAI, Azure, Ollama >= 0.5 and vLLM; "
                    "json_object_schema for llama.cpp and llama-cpp-python"
                )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @property
    def grader_name(self) -> Literal["offline", "llm"]:
        """`llm` when an OpenAI key or base URL is set, else `offline` (docs/design.md,
        "Settings")."""
        if self.grader:
            return self.grader
        return "llm" if (self.openai_api_key or self.openai_base_url) else "offline"

    @property
    def pack_paths(self) -> list[Path]:
        return [SHIPPED_PACKS, *self.packs]

    def configured_platforms(self) -> list[Platform]:
        """Platforms whose credentials are set; the console when none are."""
        found: list[Platform] = []
        if self.slack_bot_token or self.slack_client_id:
            found.append("slack")
        if self.discord_token:
            found.append("discord")
        return found or ["console"]
