"""Inbound Slack requests for the tests: they live with the Slack emulator (the sandbox sends them too)."""

from emulators.slack.inbound import SIGNING_SECRET, event, interactive, sign, slash_command

__all__ = ["SIGNING_SECRET", "event", "interactive", "sign", "slash_command"]
