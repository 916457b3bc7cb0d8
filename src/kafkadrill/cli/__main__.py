"""`python -m kafkadrill.cli ARGS` runs the command line (tests and subprocesses use it)."""

from kafkadrill.cli import main

main()
