"""The secret key keys CSRF tokens and the outbox encryption: a set key shorter than 32 bytes
(an empty one included) stops every command that uses it, with a message that says how to make
one and never repeats the key; an unset key is still generated and kept in the data directory."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from teamgate.config import Settings
from tests.cli.test_cli import TEAMGATE, base_env

SHORT_KEYS = {"empty": "", "blank": "   ", "31 bytes": "k" * 31, "a word": "hunter2"}
COMMANDS = {
    "serve": ["serve", "--port", "1"],
    "worker": ["worker"],
    "migrate": ["migrate"],
    "bootstrap": ["bootstrap", "--email", "root@example.com"],
    "users create": ["users", "create", "--email", "a@example.com", "--first-name", "A", "--last-name", "B",
                     "--password-stdin"],
    "api-keys create": ["api-keys", "create", "--team", "team_x", "--role", "admin", "--name", "n"],
    "invite": ["invite", "--team", "team_x", "--email", "a@example.com", "--role", "member"],
    "outbox list": ["outbox", "list"],
}


def run(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = {**base_env(tmp_path), **env}
    if env.get("TEAMGATE_SECRET_KEY") is None:
        full.pop("TEAMGATE_SECRET_KEY", None)
    return subprocess.run([TEAMGATE, *args], input="correct horse battery staple\n", capture_output=True, text=True,
                          env=full, cwd=tmp_path, timeout=60)


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_refuses_to_start_with_an_empty_secret_key(tmp_path, command):
    done = run(tmp_path, *command, TEAMGATE_SECRET_KEY="")
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.startswith("error: TEAMGATE_SECRET_KEY: must be at least 32 bytes (it has 0)"), done.stderr
    assert "secrets.token_urlsafe(48)" in done.stderr  # how to make a good one
    assert not (tmp_path / "data" / "teamgate.db").exists()  # refused before doing anything


@pytest.mark.parametrize("key", SHORT_KEYS.values(), ids=SHORT_KEYS.keys())
def test_serve_refuses_a_short_secret_key_and_never_prints_it(tmp_path, key):
    done = run(tmp_path, "serve", "--port", "1", TEAMGATE_SECRET_KEY=key)
    assert done.returncode != 0
    assert "must be at least 32 bytes" in done.stderr
    assert key.strip() == "" or key not in done.stderr


def test_an_unset_secret_key_is_generated_once_and_kept_in_the_data_directory(tmp_path):
    first = run(tmp_path, "migrate", TEAMGATE_SECRET_KEY=None)
    assert first.returncode == 0, first.stderr
    kept = tmp_path / "data" / "secret_key"
    key = kept.read_text()
    assert len(key.strip().encode()) >= 32
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    assert run(tmp_path, "migrate", TEAMGATE_SECRET_KEY=None).returncode == 0
    assert kept.read_text() == key  # the same key next time


def test_a_kept_secret_key_shortened_by_hand_is_refused(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secret_key").write_text("short\n")
    done = run(tmp_path, "migrate", TEAMGATE_SECRET_KEY=None)
    assert done.returncode != 0
    assert "must be at least 32 bytes" in done.stderr and "secret_key" in done.stderr


class TestSettings:
    @pytest.mark.parametrize("key", SHORT_KEYS.values(), ids=SHORT_KEYS.keys())
    def test_a_short_secret_key_is_refused_without_repeating_it(self, key):
        with pytest.raises(ValidationError) as refused:
            Settings(_env_file=None, secret_key=key)
        assert "at least 32 bytes" in str(refused.value)
        assert f"'{key}'" not in str(refused.value)

    def test_32_bytes_are_enough_and_used_as_given(self, tmp_path):
        settings = Settings(_env_file=None, secret_key="é" * 16, data_dir=tmp_path)  # 16 characters, 32 bytes
        assert settings.secret == ("é" * 16).encode()
        assert not (tmp_path / "secret_key").exists()


def test_the_shipped_env_example_has_no_usable_key_and_says_how_to_make_one():
    example = (Path(__file__).parents[2] / "deploy" / "env.example").read_text()
    shipped = dict(line.split("=", 1) for line in example.splitlines() if "=" in line and not line.startswith("#"))
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(_env_file=None, secret_key=shipped["TEAMGATE_SECRET_KEY"])
    assert "secrets.token_urlsafe(48)" in example
