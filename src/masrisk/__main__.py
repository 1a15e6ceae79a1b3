"""Run the command line with ``python -m masrisk``."""

from masrisk.cli import main

main()
