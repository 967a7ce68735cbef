"""The deployment files as the tests read them: the Dockerfile's instructions, the compose
services, the Caddyfile, and the settings the code reads."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"
CODE_FOLDERS = (REPO / "bot", REPO / "retrieval")
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def path_with_this_python() -> str:
    """$PATH with this interpreter's folder first, where pip put `briefbot` and `hadolint`."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, its arguments), in order: comments dropped, continued lines joined."""
    logical, pending = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        logical.append(pending)
        pending = ""
    return [(keyword.upper(), rest.strip()) for keyword, _, rest in (line.strip().partition(" ") for line in logical)]


def last_instruction(keyword: str) -> str:
    """The arguments of the Dockerfile's last `keyword` instruction (the one that counts)."""
    found = [arguments for name, arguments in dockerfile_instructions() if name == keyword]
    assert found, f"{DOCKERFILE.name} has no {keyword}"
    return found[-1]


def image_command() -> list[str]:
    """The image's CMD, in exec (JSON) form."""
    return json.loads(last_instruction("CMD"))


def image_healthcheck() -> list[str]:
    """The command of the image's HEALTHCHECK, its options left out."""
    _, _, command = last_instruction("HEALTHCHECK").partition("CMD ")
    return json.loads(command)


def image_environment() -> dict[str, str]:
    """Every ENV of the final stage, NAME=value form."""
    instructions = dockerfile_instructions()
    final_stage = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    environment = {}
    for name, arguments in instructions[final_stage:]:
        if name == "ENV":
            environment.update(part.split("=", 1) for part in shlex.split(arguments))
    return environment


def variables_in(text: str) -> set[str]:
    """The $NAME and ${NAME…} a shell or compose would substitute in `text`."""
    return set(VARIABLE.findall(text))


def settings_read_by_code() -> set[str]:
    """The environment variables bot/ and retrieval/ read: os.environ[NAME], os.environ.get(NAME),
    os.getenv(NAME) and click's envvar=NAME, NAME a string or a module constant holding one."""
    trees = [ast.parse(path.read_text(encoding="utf-8")) for folder in CODE_FOLDERS for path in folder.glob("*.py")]
    constants = {
        target.id: node.value.value
        for tree in trees
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def value(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return constants.get(node.id) if isinstance(node, ast.Name) else None

    found = set()
    for node in (node for tree in trees for node in ast.walk(tree)):
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            found.add(value(node.slice))
        elif isinstance(node, ast.Call):
            function = node.func
            reads = isinstance(function, ast.Attribute) and (
                (function.attr == "get" and _is_environ(function.value)) or function.attr == "getenv"
            )
            if reads and node.args:
                found.add(value(node.args[0]))
            found |= {value(keyword.value) for keyword in node.keywords if keyword.arg == "envvar"}
    return found - {None}


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"
