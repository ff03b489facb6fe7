"""Shared test machinery: a private Redis, the bot as a subprocess, and signed Slack requests."""
