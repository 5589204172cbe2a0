"""qhub's version, kept in one place (read by the build backend and ``qhub --version``)."""

__version__ = "0.1.0"
