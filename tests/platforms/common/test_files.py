"""File names from user input (issue 12, finding 13)."""

from __future__ import annotations

import pytest

from bot.platforms.common.files import MAX_FILENAME, safe_filename


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("drillbot-export-local-you.json", "drillbot-export-local-you.json"),
        (
            "drillbot-export-local-../../../../pwned.json",
            "drillbot-export-local-________pwned.json",
        ),
        ("..", "drillbot-file"),
        ("/etc/passwd", "etc_passwd"),
        ("C:\\Windows\\x.png", "C_Windows_x.png"),
        (".bashrc", "bashrc"),
        ("nul\x00byte\n.json", "nul_byte_.json"),
        ("Zoë-ünïcode.png", "Zoe-unicode.png"),
        ("", "drillbot-file"),
    ],
)
def test_finding13_safe_filename_keeps_one_harmless_component(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_finding13_a_long_name_is_cut_keeping_its_extension() -> None:
    cut = safe_filename("x" * 500 + ".json")
    assert len(cut) <= MAX_FILENAME and cut.endswith(".json")
