"""`python -m bot` runs the briefbot command line."""

from bot.cli import cli

cli(prog_name="briefbot")
