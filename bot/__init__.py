"""meetbot: run Google Meet from Slack."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["VERSION"]


def _installed_version() -> str:
    try:
        return version("meetbot")  # pyproject.toml's version is the one source
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


VERSION = _installed_version()
