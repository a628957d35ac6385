"""Storage: every SQL statement of drillbot, behind one repository per subject.

Services reach the database only through these repositories; nothing here imports a service.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.answers import Answers
from bot.store.boards import Boards
from bot.store.dailies import Dailies
from bot.store.db import Database
from bot.store.reviews import Reviews
from bot.store.selfchecks import SelfChecks
from bot.store.sessions import Sessions
from bot.store.skips import Skips
from bot.store.slack import SlackRecords
from bot.store.team import Team
from bot.store.tenancy import Tenancy
from bot.store.units import Units


@dataclass(frozen=True)
class Store:
    """The repositories over one database, built once by the composition root."""

    db: Database
    tenancy: Tenancy
    dailies: Dailies
    answers: Answers
    boards: Boards
    reviews: Reviews
    sessions: Sessions
    slack: SlackRecords
    units: Units
    selfchecks: SelfChecks
    skips: Skips
    team: Team

    @classmethod
    def over(cls, db: Database) -> Store:
        return cls(
            db,
            Tenancy(db),
            Dailies(db),
            Answers(db),
            Boards(db),
            Reviews(db),
            Sessions(db),
            SlackRecords(db),
            Units(db),
            SelfChecks(db),
            Skips(db),
            Team(db),
        )
