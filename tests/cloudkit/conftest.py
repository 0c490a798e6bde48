"""Until the root conftest registers `fakes.cloudkit.pytest_plugin`, import its fixtures here."""

from fakes.cloudkit.pytest_plugin import *  # noqa: F401,F403
