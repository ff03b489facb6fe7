from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import DEFAULT_GOOGLE_SCOPES, ConfigError, load_settings

KEY = Fernet.generate_key().decode()
COMPLETE = {
    "SLACK_SIGNING_SECRET": "s3cret",
    "SLACK_BOT_TOKEN": "xoxb-1",
    "GOOGLE_CLIENT_ID": "cid",
    "GOOGLE_CLIENT_SECRET": "csecret",
    "TOKEN_ENCRYPTION_KEYS": KEY,
}


def problems(environ: dict[str, str], env_file: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ, env_file)
    return caught.value.problems


def test_complete_configuration_has_documented_defaults() -> None:
    settings = load_settings(COMPLETE, None)
    assert settings.port == 3000 and settings.host == "0.0.0.0"
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.google_scopes == DEFAULT_GOOGLE_SCOPES
    assert settings.google_redirect_uri == "http://localhost:3000/google/oauth/callback"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert not settings.socket_mode and not settings.multi_workspace
    assert "s3cret" not in repr(settings) and KEY not in repr(settings)


def test_empty_environment_lists_every_missing_variable_once() -> None:
    found = problems({})
    names = [line.split(":")[0] for line in found]
    assert names == [
        "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEYS"
    ]
    assert all("(not set)" in line for line in found)


def test_malformed_values_name_variable_and_source(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# local\nexport PORT='70000'\nREDIS_URL=http://nope\n")
    found = problems({**COMPLETE, "TOKEN_ENCRYPTION_KEYS": f"{KEY},short", "LOG_LEVEL": "loud"}, env_file)
    assert f"PORT: must be a whole number from 1 to 65535 (from {env_file} line 2)" in found
    assert any(p.startswith("REDIS_URL: must be a redis://, rediss:// or unix:// URL") and "line 3" in p
               for p in found)
    expected = "TOKEN_ENCRYPTION_KEYS: key #2 is not a Fernet key (32 url-safe base64 bytes) (from the environment)"
    assert expected in found
    assert any(p.startswith("LOG_LEVEL:") for p in found)
    assert not any("short" in p or KEY in p for p in found), "secrets must not be echoed"


def test_log_format_is_text_or_json_and_anything_else_is_one_problem() -> None:
    assert load_settings(COMPLETE, None).log_format == "text"
    assert load_settings({**COMPLETE, "LOG_FORMAT": "JSON"}, None).log_format == "json"
    assert problems({**COMPLETE, "LOG_FORMAT": "xml"}) == [
        "LOG_FORMAT: must be one of text, json (from the environment)"]


def test_environment_wins_over_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text('PORT=4000\nHOST="127.0.0.1"\n')
    settings = load_settings({**COMPLETE, "PORT": "5000"}, env_file)
    assert settings.port == 5000 and settings.host == "127.0.0.1"


def test_socket_mode_needs_no_signing_secret_but_a_bot_token() -> None:
    environ = {k: v for k, v in COMPLETE.items() if k != "SLACK_SIGNING_SECRET"}
    assert load_settings({**environ, "SLACK_APP_TOKEN": "xapp-1"}, None).socket_mode
    assert problems({**environ, "SLACK_APP_TOKEN": "xoxb-wrong"})[0].startswith("SLACK_APP_TOKEN")


def test_many_workspaces_need_both_client_values() -> None:
    environ = {k: v for k, v in COMPLETE.items() if k != "SLACK_BOT_TOKEN"}
    assert load_settings({**environ, "SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2"}, None).multi_workspace
    assert problems({**environ, "SLACK_CLIENT_ID": "1"}) == [
        "SLACK_CLIENT_SECRET: missing; SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (not set)"
    ]


def test_service_account_replaces_google_client(tmp_path: Path) -> None:
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps({"client_email": "bot@p.iam.gserviceaccount.com", "private_key": "x"}))
    environ = {k: v for k, v in COMPLETE.items() if not k.startswith("GOOGLE_")}
    assert load_settings({**environ, "GOOGLE_SERVICE_ACCOUNT_FILE": str(key_file)}, None).uses_delegation
    found = problems({**environ, "GOOGLE_SERVICE_ACCOUNT_FILE": str(tmp_path / "missing.json")})
    missing = tmp_path / "missing.json"
    assert found == [f"GOOGLE_SERVICE_ACCOUNT_FILE: cannot read the file {missing} (from the environment)"]


def test_scopes_accept_short_names_and_reject_others() -> None:
    settings = load_settings({**COMPLETE, "GOOGLE_SCOPES": "meetings.space.created meetings.space.settings"}, None)
    assert settings.google_scopes[1] == "https://www.googleapis.com/auth/meetings.space.settings"
    assert problems({**COMPLETE, "GOOGLE_SCOPES": "https://www.googleapis.com/auth/drive"})[0].startswith("GOOGLE_SCOPES")


def test_redis_modes_and_their_variables() -> None:
    assert load_settings(COMPLETE, None).redis_mode == "standalone"
    unix = load_settings({**COMPLETE, "REDIS_URL": "unix:///run/redis/redis.sock"}, None)
    assert unix.redis_url == "unix:///run/redis/redis.sock", "unix:// URLs work as documented"
    cluster = load_settings({**COMPLETE, "REDIS_MODE": "cluster", "REDIS_URL": "redis://10.0.0.5:7000/0"}, None)
    assert cluster.redis_mode == "cluster"
    sentinel = load_settings({**COMPLETE, "REDIS_MODE": "Sentinel", "REDIS_SENTINELS": "s1:26379, s2:26380",
                              "REDIS_SENTINEL_MASTER": "meetbot"}, None)
    assert sentinel.redis_mode == "sentinel" and sentinel.redis_sentinels == (("s1", 26379), ("s2", 26380))
    assert sentinel.redis_sentinel_master == "meetbot"


@pytest.mark.parametrize(("overrides", "named"), [
    ({"REDIS_MODE": "replicated"}, "REDIS_MODE"),
    ({"REDIS_MODE": "sentinel"}, "REDIS_SENTINELS"),
    ({"REDIS_MODE": "sentinel", "REDIS_SENTINELS": "s1:26379"}, "REDIS_SENTINEL_MASTER"),
    ({"REDIS_MODE": "sentinel", "REDIS_SENTINELS": "s1", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
    ({"REDIS_URL": "unix://"}, "REDIS_URL"),
    ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL"),
    ({"REDIS_MODE": "cluster", "REDIS_URL": "unix:///tmp/r.sock"}, "REDIS_URL"),
    ({"GOOGLE_ALLOW_OTHER_EMAILS": "maybe"}, "GOOGLE_ALLOW_OTHER_EMAILS"),
])
def test_bad_redis_and_linking_settings_are_named(overrides: dict[str, str], named: str) -> None:
    found = problems({**COMPLETE, **overrides})
    assert any(line.startswith(f"{named}:") for line in found), found


def test_live_meetings_poll_by_default_and_events_are_validated(tmp_path: Path) -> None:
    settings = load_settings(COMPLETE, None)
    assert settings.meet_poll_seconds == 30 and settings.google_pubsub_topic is None
    assert settings.events_push_audience == "http://localhost:3000/google/events"
    found = problems({**COMPLETE, "MEET_POLL_SECONDS": "-1", "GOOGLE_PUBSUB_TOPIC": "meetbot-topic",
                      "GOOGLE_PUBSUB_SUBSCRIPTION": "projects/p/subscriptions/s"})
    assert [line.split(":")[0] for line in found] == ["MEET_POLL_SECONDS", "GOOGLE_PUBSUB_TOPIC",
                                                      "GOOGLE_APPLICATION_CREDENTIALS"]
    assert "projects/PROJECT/topics/TOPIC" in found[1] and "pull delivery needs" in found[2]
    assert problems({**COMPLETE, "GOOGLE_PUBSUB_SUBSCRIPTION": "projects/p/subscriptions/s",
                     "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "missing.json")})[0].startswith(
        "GOOGLE_PUBSUB_SUBSCRIPTION: needs GOOGLE_PUBSUB_TOPIC")
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"client_email": "puller@p.iam.gserviceaccount.com", "private_key": "-----"}))
    pull = load_settings({**COMPLETE, "GOOGLE_PUBSUB_TOPIC": "projects/p/topics/t",
                          "GOOGLE_PUBSUB_SUBSCRIPTION": "projects/p/subscriptions/s",
                          "GOOGLE_APPLICATION_CREDENTIALS": str(key)}, None)
    assert pull.google_application_credentials == key
    assert pull.google_pubsub_subscription == "projects/p/subscriptions/s"


# Secrets from files (NAME_FILE): Docker and Kubernetes secrets, Vault agent.
SECRET_VALUES = {
    "SLACK_SIGNING_SECRET": "s3cret",
    "SLACK_BOT_TOKEN": "xoxb-from-file",
    "SLACK_APP_TOKEN": "xapp-from-file",
    "SLACK_CLIENT_SECRET": "client-from-file",
    "GOOGLE_CLIENT_SECRET": "csecret-from-file",
    "TOKEN_ENCRYPTION_KEYS": KEY,
    "REDIS_URL": "redis://redis.internal:6380/2",
}


def test_every_secret_can_come_from_a_file_with_its_trailing_newline_stripped(tmp_path: Path) -> None:
    environ = {"GOOGLE_CLIENT_ID": "cid", "SLACK_CLIENT_ID": "1"}
    for name, value in SECRET_VALUES.items():
        (tmp_path / name.lower()).write_text(value + "\n")
        environ[f"{name}_FILE"] = str(tmp_path / name.lower())
    settings = load_settings(environ, None)
    assert settings.slack_signing_secret == "s3cret"
    assert settings.slack_bot_token == "xoxb-from-file" and settings.slack_app_token == "xapp-from-file"
    assert settings.slack_client_secret == "client-from-file"
    assert settings.google_client_secret == "csecret-from-file"
    assert settings.token_encryption_keys == (KEY.encode(),)
    assert settings.redis_url == "redis://redis.internal:6380/2"


def test_a_file_value_gets_the_same_validation_naming_the_file_and_where_its_path_came_from(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("not-a-bot-token\n")
    env_file = tmp_path / ".env"
    env_file.write_text(f"SLACK_BOT_TOKEN_FILE={token}\n")
    environ = {k: v for k, v in COMPLETE.items() if k != "SLACK_BOT_TOKEN"}
    assert problems(environ, env_file) == [
        f"SLACK_BOT_TOKEN: must be a bot token starting with xoxb- (from the file {token}, named by "
        f"SLACK_BOT_TOKEN_FILE from {env_file} line 1)"
    ]


def test_an_empty_secret_file_counts_as_missing(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("\n")
    environ = {k: v for k, v in COMPLETE.items() if k != "TOKEN_ENCRYPTION_KEYS"}
    found = problems({**environ, "TOKEN_ENCRYPTION_KEYS_FILE": str(keys)})
    assert len(found) == 1 and found[0].startswith("TOKEN_ENCRYPTION_KEYS: missing;")
    assert found[0].endswith(f"(from the file {keys}, named by TOKEN_ENCRYPTION_KEYS_FILE from the environment)")


def test_a_secret_set_both_ways_is_one_problem(tmp_path: Path) -> None:
    secret = tmp_path / "signing"
    secret.write_text("other\n")
    assert problems({**COMPLETE, "SLACK_SIGNING_SECRET_FILE": str(secret)}) == [
        "SLACK_SIGNING_SECRET_FILE: SLACK_SIGNING_SECRET is set too; set one of SLACK_SIGNING_SECRET and "
        "SLACK_SIGNING_SECRET_FILE (from the environment)"
    ]


def test_an_unreadable_secret_file_is_one_problem_without_a_second_missing_line(tmp_path: Path) -> None:
    environ = {k: v for k, v in COMPLETE.items() if k != "GOOGLE_CLIENT_SECRET"}
    missing = tmp_path / "nope"
    not_text = tmp_path / "binary"
    not_text.write_bytes(b"\xff\xfe\x00")
    assert problems({**environ, "GOOGLE_CLIENT_SECRET_FILE": str(missing)}) == [
        f"GOOGLE_CLIENT_SECRET_FILE: cannot read the file {missing} (from the environment)"
    ]
    assert problems({**environ, "GOOGLE_CLIENT_SECRET_FILE": str(tmp_path)}) == [
        f"GOOGLE_CLIENT_SECRET_FILE: cannot read the file {tmp_path} (from the environment)"
    ]
    assert problems({**environ, "GOOGLE_CLIENT_SECRET_FILE": str(not_text)}) == [
        f"GOOGLE_CLIENT_SECRET_FILE: cannot read the file {not_text} (from the environment)"
    ]


def test_a_secret_file_value_is_never_echoed(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{KEY},short-secret-part\n")
    environ = {k: v for k, v in COMPLETE.items() if k != "TOKEN_ENCRYPTION_KEYS"}
    found = problems({**environ, "TOKEN_ENCRYPTION_KEYS_FILE": str(keys)})
    assert found == [f"TOKEN_ENCRYPTION_KEYS: key #2 is not a Fernet key (32 url-safe base64 bytes) (from the file "
                     f"{keys}, named by TOKEN_ENCRYPTION_KEYS_FILE from the environment)"]
    assert not any("short-secret-part" in p or KEY in p for p in found)


def test_job_concurrency_is_a_setting() -> None:
    """Issue 22, item 11: jobs per process were 32, hard-coded (bench/bench_drain.py measures what it should be)."""
    assert load_settings({**COMPLETE, "JOB_CONCURRENCY": "128"}, None).job_concurrency == 128
    assert problems({**COMPLETE, "JOB_CONCURRENCY": "0"}) == [
        "JOB_CONCURRENCY: must be a whole number from 1 to 4096 (from the environment)"]


def test_the_job_take_over_wait_is_a_setting() -> None:
    """Issue 24: a killed process's job was taken over after a fixed 5 s, which every recovery test waited out."""
    assert load_settings(COMPLETE, None).job_idle_timeout == 5
    assert load_settings({**COMPLETE, "JOB_IDLE_TIMEOUT": "2"}, None).job_idle_timeout == 2
    assert problems({**COMPLETE, "JOB_IDLE_TIMEOUT": "0"}) == [
        "JOB_IDLE_TIMEOUT: must be a whole number from 1 to 600 (from the environment)"]


def test_the_gap_between_two_reads_of_one_space_is_a_setting() -> None:
    """Issue 24: events for one space were coalesced over a fixed 2 s, which every live-events test waited out."""
    assert load_settings(COMPLETE, None).meet_coalesce_ms == 2000
    assert load_settings({**COMPLETE, "MEET_COALESCE_MS": "200"}, None).meet_coalesce_ms == 200
    assert problems({**COMPLETE, "MEET_COALESCE_MS": "50"}) == [
        "MEET_COALESCE_MS: must be a whole number from 100 to 60000 (from the environment)"]


def test_push_delivery_needs_the_account_pubsub_signs_as() -> None:
    """Google signs ID tokens for any audience for any service account: without the account to compare, a token
    an attacker minted for their own account would pass. Push mode refuses to start without it."""
    found = problems({**COMPLETE, "GOOGLE_PUBSUB_TOPIC": "projects/p/topics/t"})
    assert len(found) == 1 and found[0].startswith("GOOGLE_PUBSUB_PUSH_ACCOUNT: missing;"), found
    pushed = load_settings({**COMPLETE, "GOOGLE_PUBSUB_TOPIC": "projects/p/topics/t",
                            "GOOGLE_PUBSUB_PUSH_ACCOUNT": "pusher@p.iam.gserviceaccount.com"}, None)
    assert pushed.google_pubsub_push_account == "pusher@p.iam.gserviceaccount.com"


def test_dnd_is_offered_only_with_both_dnd_scopes() -> None:
    assert load_settings(COMPLETE, None).dnd_scopes == ()
    base = "users.profile:read users.profile:write"
    assert load_settings({**COMPLETE, "SLACK_USER_SCOPES": base + " dnd:write"}, None).dnd_scopes == ()
    both = load_settings({**COMPLETE, "SLACK_USER_SCOPES": base + ",dnd:read,dnd:write"}, None)
    assert both.dnd_scopes == ("dnd:read", "dnd:write")
    assert any("dnd:admin" in p for p in problems({**COMPLETE, "SLACK_USER_SCOPES": base + " dnd:admin"}))
