"""``python -m ncarender``."""

from .cli import main

main()
