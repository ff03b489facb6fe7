"""Settings from the environment (and an optional `.env`), validated once at start-up.

Every problem is collected, not just the first, so an operator fixes the whole list in one go. Each problem names
the variable and where its value came from; no value that could be a secret is ever echoed back.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

__all__ = ["DND_SCOPES", "SECRET_NAMES", "ConfigError", "Settings", "load_settings", "read_env_file"]

MEET_SCOPE_PREFIX = "https://www.googleapis.com/auth/"
DEFAULT_GOOGLE_SCOPES = (
    MEET_SCOPE_PREFIX + "meetings.space.created",
    MEET_SCOPE_PREFIX + "meetings.space.readonly",
)
# "Sign in with Slack" for presence (DESIGN §1): only these user scopes exist for it; the DND ones only if DND is
# wanted. dnd.info (is the snooze still the one meetbot set?) needs dnd:read beside dnd:write.
DND_SCOPES = ("dnd:read", "dnd:write")
PRESENCE_SCOPES = ("users.profile:read", "users.profile:write", *DND_SCOPES)
DEFAULT_SLACK_USER_SCOPES = ("users.profile:read", "users.profile:write")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
# Each of these may instead be given as a file path in `<NAME>_FILE` (DESIGN §3).
SECRET_NAMES = (
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_SECRET",
    "GOOGLE_CLIENT_SECRET",
    "TOKEN_ENCRYPTION_KEYS",
    "REDIS_URL",
)
# Jobs one process runs at once. They mostly wait on Google: sized by bench/bench_drain.py (README, "Job capacity"),
# and kept under the Meet client's 200 pooled connections, which following and the ack path share.
JOB_CONCURRENCY = 128
# Seconds before a job held by a dead process is taken over (the job library renews a live process's hold at 90% of
# it): a tuning of the job library, not of meetbot; the tests of recovery after kill -9 shorten it.
JOB_IDLE_TIMEOUT = 5


class ConfigError(Exception):
    """The configuration is incomplete or malformed; `problems` holds one line per variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Settings:
    slack_signing_secret: str | None
    slack_bot_token: str | None
    slack_app_token: str | None
    slack_client_id: str | None
    slack_client_secret: str | None
    google_client_id: str | None
    google_client_secret: str | None
    google_service_account_file: Path | None
    google_scopes: tuple[str, ...]
    public_url: str
    token_encryption_keys: tuple[bytes, ...] = field(repr=False)
    redis_url: str = "redis://localhost:6379/0"
    host: str = "0.0.0.0"
    port: int = 3000
    slack_api_url: str = "https://slack.com/api/"
    meet_api_url: str = "https://meet.googleapis.com"
    google_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_revoke_url: str = "https://oauth2.googleapis.com/revoke"
    google_userinfo_url: str = "https://openidconnect.googleapis.com/v1/userinfo"
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object a line
    web_concurrency: int = 1
    job_concurrency: int = JOB_CONCURRENCY  # jobs one process runs at once (README: measured)
    job_idle_timeout: int = JOB_IDLE_TIMEOUT  # seconds before a dead process's job is taken over
    google_allow_other_emails: bool = False  # link Google accounts whose email isn't the Slack one, if confirmed
    redis_mode: str = "standalone"  # "standalone", "cluster" (REDIS_URL is any node) or "sentinel"
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_master: str | None = None
    meet_poll_seconds: int = 30  # 0: meetings are not followed
    meet_coalesce_ms: int = 2000  # two reads of one space (or of one person's meetings) at least this far apart
    google_pubsub_topic: str | None = None  # Workspace Events for live meetings; unset: polling
    google_pubsub_subscription: str | None = None  # pull delivery; unset (with a topic): push to /google/events
    google_pubsub_push_account: str | None = None
    google_application_credentials: Path | None = None  # pull: the service account allowed to pull
    google_events_url: str = "https://workspaceevents.googleapis.com"
    pubsub_api_url: str = "https://pubsub.googleapis.com"
    google_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"
    slack_user_scopes: tuple[str, ...] = DEFAULT_SLACK_USER_SCOPES  # asked for by "Sign in with Slack"

    @property
    def slack_sign_in(self) -> bool:
        """The app's OAuth client is configured, so people can sign in with Slack (presence)."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def dnd_scopes(self) -> tuple[str, ...]:
        """The DND scopes, when SLACK_USER_SCOPES asks for all of them (`/meet presence dnd`); () otherwise."""
        return DND_SCOPES if all(s in self.slack_user_scopes for s in DND_SCOPES) else ()

    @property
    def slack_user_redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/slack/user-oauth-redirect"

    @property
    def events_push_audience(self) -> str:
        return self.public_url.rstrip("/") + "/google/events"

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def multi_workspace(self) -> bool:
        return self.slack_bot_token is None and self.slack_client_id is not None

    @property
    def uses_delegation(self) -> bool:
        return self.google_service_account_file is not None

    @property
    def google_redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/google/oauth/callback"

    def __repr__(self) -> str:  # secrets stay out of logs and tracebacks
        return f"Settings(socket_mode={self.socket_mode}, redis_url=<hidden>, public_url={self.public_url!r})"


def read_env_file(path: Path) -> dict[str, tuple[str, int]]:
    """Parse a `.env` file: KEY=VALUE lines, `#` comments, optional `export ` and quotes. Value → (value, line)."""
    values: dict[str, tuple[str, int]] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = (value, number)
    return values


class _Reader:
    """Reads variables and remembers where each came from, for error messages."""

    def __init__(self, environ: Mapping[str, str], env_file: Path | None) -> None:
        self._environ = environ
        self._file_values = read_env_file(env_file) if env_file and env_file.is_file() else {}
        self._env_file = env_file
        self.problems: list[str] = []
        self._secret_files: dict[str, tuple[str, Path]] = {}  # name -> (the file's value, the file)
        self._unusable: set[str] = set()  # secrets whose NAME_FILE already has its own problem line
        for name in SECRET_NAMES:
            self._read_secret_file(name)

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None and name in self._file_values:
            value = self._file_values[name][0]
        return value

    def _read_secret_file(self, name: str) -> None:
        """`<NAME>_FILE` names a file holding the secret (Docker and Kubernetes secrets, Vault agent)."""
        file_name = name + "_FILE"
        raw_path = self._raw(file_name)
        if raw_path is None or not raw_path.strip():
            return
        path = Path(raw_path.strip())
        if self._raw(name) is not None:
            self._unusable.add(name)
            self.problem(file_name, f"{name} is set too; set one of {name} and {file_name}")
            return
        try:
            value = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            self._unusable.add(name)
            self.problem(file_name, f"cannot read the file {path}")
            return
        self._secret_files[name] = (value.rstrip("\r\n"), path)

    def source(self, name: str) -> str:
        if name in self._secret_files:
            return f"from the file {self._secret_files[name][1]}, named by {name}_FILE {self.source(name + '_FILE')}"
        if name in self._environ:
            return "from the environment"
        if name in self._file_values:
            return f"from {self._env_file} line {self._file_values[name][1]}"
        return "not set"

    def get(self, name: str) -> str | None:
        value = self._secret_files[name][0] if name in self._secret_files else self._raw(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def problem(self, name: str, message: str) -> None:
        if name in self._unusable:
            return  # its NAME_FILE's line already says what is wrong; "missing" would only mislead
        self.problems.append(f"{name}: {message} ({self.source(name)})")

    def url(self, name: str, default: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
        value = self.get(name) or default
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            self.problem(name, f"must be an absolute {' or '.join(schemes)} URL, like {default}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.get(name)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        self.problem(name, "must be true or false")
        return default

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            self.problem(name, f"must be a whole number from {low} to {high}")
            return default
        return number


def _fernet_keys(reader: _Reader) -> tuple[bytes, ...]:
    raw = reader.get("TOKEN_ENCRYPTION_KEYS")
    if raw is None:
        reader.problem(
            "TOKEN_ENCRYPTION_KEYS",
            "missing; generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'",
        )
        return ()
    keys: list[bytes] = []
    for position, item in enumerate((part.strip() for part in raw.split(",")), start=1):
        try:
            valid = len(base64.urlsafe_b64decode(item.encode("ascii"))) == 32
        except (binascii.Error, ValueError, UnicodeEncodeError):
            valid = False
        if not valid:
            reader.problem("TOKEN_ENCRYPTION_KEYS", f"key #{position} is not a Fernet key (32 url-safe base64 bytes)")
        else:
            keys.append(item.encode("ascii"))
    return tuple(keys)


def _service_account_file(reader: _Reader) -> Path | None:
    value = reader.get("GOOGLE_SERVICE_ACCOUNT_FILE")
    return None if value is None else _key_file(reader, "GOOGLE_SERVICE_ACCOUNT_FILE", value)


def _key_file(reader: _Reader, name: str, value: str) -> Path | None:
    """A service-account key file: readable JSON with the account's email and private key."""
    path = Path(value)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        reader.problem(name, f"cannot read the file {path}")
        return None
    except ValueError:
        reader.problem(name, f"{path} is not JSON")
        return None
    if not isinstance(info, dict) or not {"client_email", "private_key"} <= info.keys():
        reader.problem(name, f"{path} is not a service-account key file")
        return None
    return path


def _scopes(reader: _Reader) -> tuple[str, ...]:
    raw = reader.get("GOOGLE_SCOPES")
    if raw is None:
        return DEFAULT_GOOGLE_SCOPES
    scopes = tuple(s if s.startswith("https://") else MEET_SCOPE_PREFIX + s for s in raw.split())
    unknown = [s for s in scopes if not s.startswith(MEET_SCOPE_PREFIX + "meetings.")]
    if unknown:
        reader.problem("GOOGLE_SCOPES", "only Meet scopes (…/auth/meetings.*) are allowed: " + " ".join(unknown))
    return scopes


def _slack_identity(reader: _Reader) -> None:
    """Exactly one way to talk to Slack: a bot token, or an OAuth client for many workspaces."""
    bot_token, client_id, client_secret = (
        reader.get(n) for n in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
    )
    if bot_token is None and client_id is None:
        reader.problem(
            "SLACK_BOT_TOKEN",
            "missing; set it (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (many workspaces)",
        )
    if bot_token is not None and not bot_token.startswith("xoxb-"):
        reader.problem("SLACK_BOT_TOKEN", "must be a bot token starting with xoxb-")
    if (client_id is None) != (client_secret is None):
        missing = "SLACK_CLIENT_SECRET" if client_secret is None else "SLACK_CLIENT_ID"
        reader.problem(missing, "missing; SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together")
    if bot_token is None and client_id is not None and reader.get("SLACK_APP_TOKEN") is not None:
        reader.problem("SLACK_APP_TOKEN", "Socket Mode needs SLACK_BOT_TOKEN (one workspace)")


def _user_scopes(reader: _Reader) -> tuple[str, ...]:
    raw = reader.get("SLACK_USER_SCOPES")
    if raw is None:
        return DEFAULT_SLACK_USER_SCOPES
    scopes = tuple(dict.fromkeys(s for s in raw.replace(",", " ").split() if s))
    unknown = [s for s in scopes if s not in PRESENCE_SCOPES]
    if unknown:
        reader.problem("SLACK_USER_SCOPES", "only " + ", ".join(PRESENCE_SCOPES) + " are used: " + " ".join(unknown))
    for needed in DEFAULT_SLACK_USER_SCOPES:
        if needed not in scopes:
            reader.problem("SLACK_USER_SCOPES", f"missing {needed}; presence reads and restores the status with it")
    return scopes


def _google_identity(reader: _Reader, service_account: Path | None) -> None:
    client_id, client_secret = reader.get("GOOGLE_CLIENT_ID"), reader.get("GOOGLE_CLIENT_SECRET")
    if service_account is None and reader.get("GOOGLE_SERVICE_ACCOUNT_FILE") is None:
        for name, value in (("GOOGLE_CLIENT_ID", client_id), ("GOOGLE_CLIENT_SECRET", client_secret)):
            if value is None:
                reader.problem(name, "missing; needed for per-user Google sign-in (or set GOOGLE_SERVICE_ACCOUNT_FILE)")


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Build the settings or raise ConfigError listing every problem. Real environment wins over `.env`."""
    reader = _Reader(os.environ if environ is None else environ, env_file)
    app_token = reader.get("SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        reader.problem("SLACK_APP_TOKEN", "must be an app-level token starting with xapp-")
    if app_token is None and reader.get("SLACK_SIGNING_SECRET") is None:
        reader.problem("SLACK_SIGNING_SECRET", "missing; needed in HTTP mode (Basic Information > Signing Secret)")
    _slack_identity(reader)
    service_account = _service_account_file(reader)
    _google_identity(reader, service_account)
    keys = _fernet_keys(reader)
    mode, sentinels, master = _redis_topology(reader)
    log_level = (reader.get("LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        reader.problem("LOG_LEVEL", "must be one of " + ", ".join(LOG_LEVELS))
    log_format = (reader.get("LOG_FORMAT") or "text").lower()
    if log_format not in LOG_FORMATS:
        reader.problem("LOG_FORMAT", "must be one of " + ", ".join(LOG_FORMATS))
    settings = Settings(
        slack_signing_secret=reader.get("SLACK_SIGNING_SECRET"),
        slack_bot_token=reader.get("SLACK_BOT_TOKEN"),
        slack_app_token=app_token,
        slack_client_id=reader.get("SLACK_CLIENT_ID"),
        slack_client_secret=reader.get("SLACK_CLIENT_SECRET"),
        google_client_id=reader.get("GOOGLE_CLIENT_ID"),
        google_client_secret=reader.get("GOOGLE_CLIENT_SECRET"),
        google_service_account_file=service_account,
        google_scopes=_scopes(reader),
        public_url=reader.url("PUBLIC_URL", "http://localhost:3000"),
        token_encryption_keys=keys,
        redis_url=_redis_url(reader),
        host=reader.get("HOST") or "0.0.0.0",
        port=reader.integer("PORT", 3000, 1, 65535),
        slack_api_url=_with_slash(reader.url("SLACK_API_URL", "https://slack.com/api/")),
        meet_api_url=reader.url("MEET_API_URL", "https://meet.googleapis.com").rstrip("/"),
        google_auth_url=reader.url("GOOGLE_AUTH_URL", "https://accounts.google.com/o/oauth2/v2/auth"),
        google_token_url=reader.url("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token"),
        google_revoke_url=reader.url("GOOGLE_REVOKE_URL", "https://oauth2.googleapis.com/revoke"),
        google_userinfo_url=reader.url(
            "GOOGLE_USERINFO_URL", "https://openidconnect.googleapis.com/v1/userinfo"
        ),
        log_level=log_level,
        log_format=log_format,
        web_concurrency=reader.integer("WEB_CONCURRENCY", 1, 1, 64),
        job_concurrency=reader.integer("JOB_CONCURRENCY", JOB_CONCURRENCY, 1, 4096),
        job_idle_timeout=reader.integer("JOB_IDLE_TIMEOUT", JOB_IDLE_TIMEOUT, 1, 600),
        google_allow_other_emails=reader.flag("GOOGLE_ALLOW_OTHER_EMAILS", False),
        redis_mode=mode,
        redis_sentinels=sentinels,
        redis_sentinel_master=master,
        meet_poll_seconds=reader.integer("MEET_POLL_SECONDS", 30, 0, 3600),
        meet_coalesce_ms=reader.integer("MEET_COALESCE_MS", 2000, 100, 60000),
        slack_user_scopes=_user_scopes(reader),
        **_event_feed(reader),
    )
    if reader.problems:
        raise ConfigError(reader.problems)
    return settings


REDIS_MODES = ("standalone", "cluster", "sentinel")
_TOPIC = re.compile(r"projects/[^/\s]+/topics/[^/\s]+")
_SUBSCRIPTION = re.compile(r"projects/[^/\s]+/subscriptions/[^/\s]+")


class _EventFeed(TypedDict):
    google_pubsub_topic: str | None
    google_pubsub_subscription: str | None
    google_pubsub_push_account: str | None
    google_application_credentials: Path | None
    google_events_url: str
    pubsub_api_url: str
    google_certs_url: str


def _event_feed(reader: _Reader) -> _EventFeed:
    """Workspace Events through Pub/Sub (DESIGN §3): a topic, then push (default) or pull with a service account."""
    topic, subscription = reader.get("GOOGLE_PUBSUB_TOPIC"), reader.get("GOOGLE_PUBSUB_SUBSCRIPTION")
    if topic is not None and not _TOPIC.fullmatch(topic):
        reader.problem("GOOGLE_PUBSUB_TOPIC", "must look like projects/PROJECT/topics/TOPIC")
    if subscription is not None and not _SUBSCRIPTION.fullmatch(subscription):
        reader.problem("GOOGLE_PUBSUB_SUBSCRIPTION", "must look like projects/PROJECT/subscriptions/SUBSCRIPTION")
    if subscription is not None and topic is None:
        reader.problem("GOOGLE_PUBSUB_SUBSCRIPTION", "needs GOOGLE_PUBSUB_TOPIC, the topic it subscribes to")
    push_account = reader.get("GOOGLE_PUBSUB_PUSH_ACCOUNT")
    if topic is not None and subscription is None and push_account is None:
        # Google signs ID tokens for any audience for any service account: the signer's email is the only check
        # that a push came from our subscription and not from someone's own account.
        reader.problem("GOOGLE_PUBSUB_PUSH_ACCOUNT", "missing; push delivery (GOOGLE_PUBSUB_TOPIC without "
                       "GOOGLE_PUBSUB_SUBSCRIPTION) needs the service-account email Pub/Sub signs push requests as")
    credentials = None
    raw = reader.get("GOOGLE_APPLICATION_CREDENTIALS")
    if subscription is not None:
        if raw is None:
            reader.problem("GOOGLE_APPLICATION_CREDENTIALS", "missing; pull delivery needs a service-account key file "
                           "allowed to pull from GOOGLE_PUBSUB_SUBSCRIPTION")
        else:
            credentials = _key_file(reader, "GOOGLE_APPLICATION_CREDENTIALS", raw)
    return {
        "google_pubsub_topic": topic,
        "google_pubsub_subscription": subscription,
        "google_pubsub_push_account": push_account,
        "google_application_credentials": credentials,
        "google_events_url": reader.url("GOOGLE_EVENTS_URL", "https://workspaceevents.googleapis.com").rstrip("/"),
        "pubsub_api_url": reader.url("PUBSUB_API_URL", "https://pubsub.googleapis.com").rstrip("/"),
        "google_certs_url": reader.url("GOOGLE_CERTS_URL", "https://www.googleapis.com/oauth2/v1/certs"),
    }


def _redis_url(reader: _Reader) -> str:
    value = reader.get("REDIS_URL") or "redis://localhost:6379/0"
    parts = urlsplit(value)
    if parts.scheme == "unix":
        if not parts.path:
            reader.problem("REDIS_URL", "a unix:// URL needs the socket's path, like unix:///run/redis/redis.sock")
    elif parts.scheme not in ("redis", "rediss") or not parts.netloc:
        reader.problem("REDIS_URL", "must be a redis://, rediss:// or unix:// URL, like redis://localhost:6379/0")
    return value


def _redis_topology(reader: _Reader) -> tuple[str, tuple[tuple[str, int], ...], str | None]:
    mode = (reader.get("REDIS_MODE") or "standalone").lower()
    if mode not in REDIS_MODES:
        reader.problem("REDIS_MODE", "must be one of " + ", ".join(REDIS_MODES))
        return "standalone", (), None
    sentinels: list[tuple[str, int]] = []
    for item in (reader.get("REDIS_SENTINELS") or "").split(","):
        if not item.strip():
            continue
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            reader.problem("REDIS_SENTINELS", f"{item.strip()!r} is not host:port")
            continue
        sentinels.append((host, int(port)))
    master = reader.get("REDIS_SENTINEL_MASTER")
    if mode == "sentinel":
        if not sentinels:
            reader.problem("REDIS_SENTINELS", "missing; sentinel mode needs the sentinels as host:port,host:port")
        if not master:
            reader.problem("REDIS_SENTINEL_MASTER", "missing; sentinel mode needs the master's service name")
    if mode == "cluster" and urlsplit(reader.get("REDIS_URL") or "").scheme == "unix":
        reader.problem("REDIS_URL", "cluster mode needs a redis:// or rediss:// URL of any node")
    return mode, tuple(sentinels), master


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
