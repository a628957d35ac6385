"""The cost guard (docs/design.md "Grades"): one rolling 24-hour budget per user per platform.

What spends a unit is data: each answer kind's policy row (`bot.domain.answers.POLICIES`) and
the units of `bot.domain.costs`. This service hands out `Charge`s (what the store spends, in the
transaction that does what the unit pays for) and spends the units that pay for nothing stored
(an LLM hint or follow-up question). It never refuses anything itself: whoever asked decides
what a refusal means (an answer refused, a replacement held, an offline hint instead).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.domain.costs import WINDOW, Charge, Over, Unit, frees_at, over_text
from bot.domain.types import Actor, Reply
from bot.store.units import Units


@dataclass(eq=False, kw_only=True)
class Quota:
    units: Units
    clock: Clock
    limit: int

    def charge(self, actor: Actor, unit: Unit, free: int = 0) -> Charge:
        """A unit of this user's budget to spend now (unless `free` counted texts cover it)."""
        return Charge(actor.workspace_id, actor.user_id, unit, self.limit, self.clock.now(), free)

    async def spend(self, actor: Actor, unit: Unit) -> Over | None:
        """Spend one unit now: None when spent, `Over` (nothing spent) when the budget is."""
        return await self.units.spend(self.charge(actor, unit))

    async def left(self, actor: Actor) -> int:
        """Units the user may still spend in the rolling window."""
        now = self.clock.now()
        spent = await self.units.spent_at(actor.workspace_id, actor.user_id, now - WINDOW)
        return max(0, self.limit - len(spent))

    async def over(self, actor: Actor) -> Over | None:
        """`Over` when the budget is spent (before starting practice or a mock), else None."""
        now = self.clock.now()
        spent = await self.units.spent_at(actor.workspace_id, actor.user_id, now - WINDOW)
        return Over(frees_at(spent, self.limit, now)) if len(spent) >= self.limit else None

    def refusal(self, over: Over, kept: str = "") -> list[Reply]:
        return [Reply(over_text(over, self.limit, self.clock.now(), kept=kept))]

    async def forget_old(self) -> None:
        """Drop units that left the window (the tick's chore)."""
        await self.units.forget_before(self.clock.now() - WINDOW)
