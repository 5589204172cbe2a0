"""qhub's behave integration.

One line in ``environment.py``::

    from qhub.behave import install

    def before_all(context):
        install(context)

or no edit at all: ``behave --runner=qhub.behave:Runner``. Importing this module starts
timing behave's step-module loading (environment.py is loaded just before the steps).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qhub.behave._install import install
from qhub.behave._loading import start_timing_step_modules
from qhub.behave.session import MissingAPI, QHubSession

start_timing_step_modules()

__all__ = ["MissingAPI", "QHubSession", "Runner", "install"]

if TYPE_CHECKING:
    from qhub.behave.runner import Runner


def __getattr__(name: str) -> Any:
    if name == "Runner":
        from qhub.behave.runner import Runner

        return Runner
    raise AttributeError(f"module 'qhub.behave' has no attribute {name!r}")
