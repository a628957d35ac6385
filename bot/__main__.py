"""`python -m bot` is the `drillbot` command."""

from bot.cli import main

raise SystemExit(main())
