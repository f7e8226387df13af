"""roost's command line (Typer + Rich). ``main`` is the console-script entry point."""

from roost.cli.app import app, main

__all__ = ["app", "main"]
