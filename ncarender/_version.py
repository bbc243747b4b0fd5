"""The version of ncarender, in one place (the package, the metadata it writes and ``--version`` read it)."""

__version__ = "0.1.0"
