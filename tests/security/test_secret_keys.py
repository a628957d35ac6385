"""Issue 12, finding 7: DRILLBOT_SECRET_KEY is a list of strong Fernet keys (the first
encrypts, all decrypt, tokens re-encrypted on read), weak keys are refused at start, and tokens
stored under the passphrase-derived key of earlier releases are migrated once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from pydantic import ValidationError

from bot.app import Core
from bot.cli import main
from bot.clock import ManualClock
from bot.config import Settings
from bot.platforms.slack.installations import InstallationStore, TokenCipher, legacy_key
from bot.store.db import Database
from bot.store.slack import SlackRecords
from bot.store.tables import slack_installations
from testing.slack.installs import install

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
PASSPHRASE = "correct horse battery staple"


async def _stored(db: Database, team: str) -> str:
    async with db.read() as conn:
        return str(
            await conn.scalar(
                sa.select(slack_installations.c.bot_token).where(
                    slack_installations.c.team_id == team
                )
            )
        )


@pytest.mark.parametrize(
    "weak",
    [
        "a",
        PASSPHRASE,
        "A" * 43 + "=",  # a valid Fernet key of 32 zero bytes
        f"{NEW},not-a-key",
    ],
)
def test_finding7_weak_key_refused(weak: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None, secret_key=weak)  # type: ignore[call-arg]
    assert "Fernet.generate_key().decode()" in str(raised.value)


def test_finding7_weak_key_stops_drillbot_run_with_how_to_make_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DRILLBOT_SECRET_KEY", PASSPHRASE)
    assert main(["run", "--platform", "console"]) == 2
    err = capsys.readouterr().err
    assert "DRILLBOT_SECRET_KEY" in err and "Fernet.generate_key" in err
    assert PASSPHRASE not in err


def test_finding7_a_list_of_strong_keys_is_accepted() -> None:
    settings = Settings(_env_file=None, secret_key=f"{NEW}, {OLD}")  # type: ignore[call-arg]
    assert settings.secret_key is not None


async def test_finding7_rotation(db: Database, core: Core, clock: ManualClock) -> None:
    """Old key only, then `new,old` (tokens re-encrypted on read and at start), then `new`."""
    before = InstallationStore(SlackRecords(db), TokenCipher([OLD]), clock)
    for team in ("T1", "T2"):
        await install(before, core, team)
    under_old = await _stored(db, "T1")

    rotating = InstallationStore(SlackRecords(db), TokenCipher([NEW, OLD]), clock)
    found = await rotating.find("T1")
    assert found is not None and found.bot_token == "xoxb-T1"
    assert await _stored(db, "T1") != under_old  # re-encrypted on read
    assert await rotating.reencrypt_all() == 1  # T2, at start-up
    assert await rotating.reencrypt_all() == 0

    after = InstallationStore(SlackRecords(db), TokenCipher([NEW]), clock)
    for team in ("T1", "T2"):
        workspace = await after.find(team)
        assert workspace is not None and workspace.bot_token == f"xoxb-{team}"
    with pytest.raises(InvalidToken):
        TokenCipher([OLD]).decrypt(await _stored(db, "T2"))


async def test_finding7_legacy_migration(db: Database, core: Core, clock: ManualClock) -> None:
    """A token stored by an earlier release (key derived from a passphrase) still works when
    the passphrase is named as the legacy key, and is re-encrypted under the new key once."""
    records = SlackRecords(db)
    earlier_release = InstallationStore(records, TokenCipher([legacy_key(PASSPHRASE)]), clock)
    await install(earlier_release, core, "T1")
    legacy_ciphertext = await _stored(db, "T1")

    without_legacy = InstallationStore(SlackRecords(db), TokenCipher([NEW]), clock)
    assert await without_legacy.find("T1") is None  # logged: which setting to add
    assert await _stored(db, "T1") == legacy_ciphertext  # nothing lost

    migrating = InstallationStore(
        SlackRecords(db), TokenCipher.from_settings(NEW, legacy_passphrase=PASSPHRASE), clock
    )
    found = await migrating.find("T1")
    assert found is not None and found.bot_token == "xoxb-T1"
    assert TokenCipher([NEW]).decrypt(await _stored(db, "T1")) == ("xoxb-T1", None)

    after = InstallationStore(SlackRecords(db), TokenCipher([NEW]), clock)
    workspace = await after.find("T1")
    assert workspace is not None and workspace.bot_token == "xoxb-T1"
