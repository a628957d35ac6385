"""The one bounded map of the platforms: a size cap, a time to live, write order."""

from __future__ import annotations

from bot.platforms.common.cache import BoundedCache


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_past_its_size_the_oldest_written_entry_goes() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 3)  # rewritten: now the newest
    cache.put("c", 4)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c"), len(cache)) == (3, 4, 2)


def test_an_entry_lives_for_its_ttl_only() -> None:
    ticks = Ticks()
    cache: BoundedCache[str, str] = BoundedCache(10, ttl=60.0, now=ticks)
    cache.put("u1", "Ann")
    ticks.now = 59.0
    assert cache.get("u1") == "Ann"
    ticks.now = 60.0
    assert cache.get("u1") is None and "u1" not in cache


def test_first_time_tells_a_repeat_until_it_is_forgotten() -> None:
    ticks = Ticks()
    cache: BoundedCache[str, bool] = BoundedCache(10, ttl=900.0, now=ticks)
    assert cache.first_time("T1:Ev1", True)
    assert not cache.first_time("T1:Ev1", True)
    ticks.now = 901.0
    assert cache.first_time("T1:Ev1", True)


def test_pop_and_discard_forget_entries() -> None:
    cache: BoundedCache[tuple[str, str], int] = BoundedCache(10)
    cache.put(("T1", "U1"), 1)
    cache.put(("T1", "U2"), 2)
    cache.put(("T2", "U1"), 3)
    assert cache.pop(("T1", "U1")) == 1 and cache.pop(("T1", "U1")) is None
    cache.discard(lambda key: key[0] == "T1")
    assert len(cache) == 1 and cache.get(("T2", "U1")) == 3
