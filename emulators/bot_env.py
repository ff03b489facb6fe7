"""The bot's configuration against the emulators: the environment of a `python -m bot` that talks to no real
service (the end-to-end tests, the benchmarks and the sandbox all start it this way)."""

from __future__ import annotations


def emulator_env(*, slack_api_url: str, meet_url: str, redis_url: str, encryption_key: str,
                 bot_token: str, signing_secret: str) -> dict[str, str]:
    """A complete bot configuration in which every outside service is a local emulator."""
    return {
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_BOT_TOKEN": bot_token,
        "SLACK_API_URL": slack_api_url,
        "GOOGLE_CLIENT_ID": "meetbot",
        "GOOGLE_CLIENT_SECRET": "meetbot-secret",
        "MEET_API_URL": meet_url,
        "GOOGLE_AUTH_URL": meet_url + "/o/oauth2/v2/auth",
        "GOOGLE_TOKEN_URL": meet_url + "/token",
        "GOOGLE_REVOKE_URL": meet_url + "/revoke",
        "GOOGLE_USERINFO_URL": meet_url + "/v1/userinfo",
        "TOKEN_ENCRYPTION_KEYS": encryption_key,
        "REDIS_URL": redis_url,
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "INFO",
    }
