"""Settings: the one place that reads the environment (prefix TEAMGATE_, optional .env)."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EmailBackend = Literal["console", "file", "smtp", "memory"]


def _async_url(url: str) -> str:
    """Plain postgresql:// and sqlite:// URLs get their async driver."""
    for plain, async_ in (("postgresql://", "postgresql+asyncpg://"), ("postgres://", "postgresql+asyncpg://"),
                          ("sqlite://", "sqlite+aiosqlite://")):
        if url.startswith(plain):
            return async_ + url[len(plain):]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEAMGATE_", env_file=".env", extra="ignore")

    data_dir: Path = Path(".teamgate")
    database_url: str | None = None  # the service's connection (on PostgreSQL: a role without privileges)
    migration_database_url: str | None = None  # the tables' owner, for migrations and operator commands
    development: bool = False  # allows a privileged PostgreSQL role for the service (RLS not in force)
    base_url: str = ""  # default: http://{host}:{port}
    invite_url_template: str = "{base_url}/invite?token={token}"
    host: str = "127.0.0.1"
    port: int = 8000

    email_backend: EmailBackend = "console"
    email_dir: Path | None = None
    email_from: str = "teamgate <no-reply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool | None = None  # None: upgrade when the server offers it; true: require; false: never
    smtp_tls: bool = False  # implicit TLS (usually port 465)
    smtp_timeout: float = Field(default=30, gt=0)
    smtp_validate_certs: bool = True
    email_max_attempts: int = Field(default=8, ge=1)
    templates_dir: Path | None = None

    product_name: str = "teamgate"
    invitation_ttl_days: float = Field(default=7, gt=0, le=30)
    session_ttl_days: float = Field(default=14, gt=0)
    roles_file: Path | None = None
    secret_key: SecretStr | None = None
    rate_limit_storage: str = "memory://"
    invite_existing_users: bool = True

    # argon2id cost (OWASP's minimum recommendation by default); tests lower it.
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1

    @model_validator(mode="after")
    def _default_base_url(self) -> Settings:
        if not self.base_url:
            self.base_url = f"http://{self.host}:{self.port}"
        self.base_url = self.base_url.rstrip("/")
        return self

    @cached_property
    def database(self) -> str:
        """The service's SQLAlchemy async URL."""
        return _async_url(self.database_url or f"sqlite:///{self.data_dir / 'teamgate.db'}")

    @cached_property
    def migration_database(self) -> str:
        """The owner's URL (the service's when only one is given: a development set-up)."""
        return _async_url(self.migration_database_url) if self.migration_database_url else self.database

    @property
    def is_sqlite(self) -> bool:
        return self.database.startswith("sqlite")

    @cached_property
    def secret(self) -> bytes:
        """The secret key; in development it is generated once and kept in the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()

    @property
    def secure_cookies(self) -> bool:
        """Cookies are Secure unless the service is reached over plain http on this machine."""
        parts = urlsplit(self.base_url)
        return not (parts.scheme == "http" and parts.hostname in {"localhost", "127.0.0.1", "::1"})

    def invite_url(self, token: str) -> str:
        return self.invite_url_template.format(base_url=self.base_url, token=token)
