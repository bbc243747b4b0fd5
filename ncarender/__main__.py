"""``python -m ncarender``."""

from .cli import main

if __name__ == "__main__":  # not when a spawned encoder process imports it
    main()
