"""``python -m drkit``: the same as the ``drkit`` command."""

from drkit.cli import main

main()
