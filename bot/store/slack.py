"""What the Slack platform keeps: installations (the bot token arrives already encrypted) and
the keys of posts that may have reached Slack. OAuth `state` values are signed, not stored.

The platform reaches this repository through the composition root (`bot.ports.Host`), never by
importing the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import Database
from bot.store.group import GroupWriter
from bot.store.rows import FromRow
from bot.store.tables import slack_installations, slack_post_attempts

#: Attempts are only needed until the core confirms the post (seconds to hours).
ATTEMPT_TTL = timedelta(days=8)
ATTEMPT_SWEEP = timedelta(hours=1)


@dataclass(frozen=True)
class InstallationRow(FromRow):
    team_id: str
    team_name: str
    bot_token: str  # ciphertext
    bot_id: str
    bot_user_id: str
    installer_user_id: str | None


class SlackRecords:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._attempts: GroupWriter[tuple[str, str, datetime]] = GroupWriter(
            db, self._record_attempts
        )
        self._swept: datetime | None = None

    # -- installations ----------------------------------------------------------------------

    async def save_installation(self, team_id: str, values: Mapping[str, Any]) -> None:
        """The workspace's one installation, replacing an earlier one."""
        async with self.db.write() as conn:
            await conn.execute(
                slack_installations.delete().where(slack_installations.c.team_id == team_id)
            )
            await conn.execute(slack_installations.insert().values(team_id=team_id, **values))

    async def installation(self, team_id: str) -> InstallationRow | None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(slack_installations).where(slack_installations.c.team_id == team_id)
                )
            ).first()
        return InstallationRow.of(row) if row else None

    async def installations(self) -> list[InstallationRow]:
        """Every installation (start-up re-encrypts tokens stored under an older key)."""
        async with self.db.read() as conn:
            rows = (await conn.execute(sa.select(slack_installations))).all()
        return [InstallationRow.of(row) for row in rows]

    async def replace_token(self, team_id: str, old: str, new: str) -> bool:
        """Store the ciphertext `new` unless the row no longer holds `old` (a reinstall
        meanwhile wins); whether it was replaced."""
        async with self.db.write() as conn:
            result = await conn.execute(
                slack_installations.update()
                .where(
                    slack_installations.c.team_id == team_id,
                    slack_installations.c.bot_token == old,
                )
                .values(bot_token=new)
            )
        return bool(result.rowcount)

    async def delete_installation(self, team_id: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                slack_installations.delete().where(slack_installations.c.team_id == team_id)
            )

    # -- post attempts ----------------------------------------------------------------------

    async def record_attempt(self, workspace_id: str, key: str, now: datetime) -> None:
        """Record a post's key before it is sent; concurrent records share a transaction."""
        await self._attempts.submit((workspace_id, key, now))

    async def _record_attempts(
        self, conn: AsyncConnection, rows: list[tuple[str, str, datetime]]
    ) -> None:
        await conn.execute(
            self.db.insert_ignore(slack_post_attempts),
            [{"workspace_id": w, "key": k, "attempted_at": at} for w, k, at in rows],
        )
        now = max(at for _, _, at in rows)
        if self._swept is None or now - self._swept > ATTEMPT_SWEEP:
            self._swept = now
            await conn.execute(
                slack_post_attempts.delete().where(
                    slack_post_attempts.c.attempted_at < now - ATTEMPT_TTL
                )
            )

    async def attempted(self, workspace_id: str, key: str) -> datetime | None:
        """When the post was first attempted, or None if it never was."""
        async with self.db.read() as conn:
            when = await conn.scalar(
                sa.select(slack_post_attempts.c.attempted_at).where(
                    slack_post_attempts.c.workspace_id == workspace_id,
                    slack_post_attempts.c.key == key,
                )
            )
        return when.astimezone(UTC) if when else None
