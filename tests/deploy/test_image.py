"""deploy/Dockerfile and .dockerignore: static checks (no Docker daemon is needed)."""

from __future__ import annotations

import json
import re

from tests.deploy.common import DEPLOY, REPO


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; comments dropped, continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, args = full.partition(" ")
        out.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return out


def test_multi_stage_slim_python_311() -> None:
    steps = instructions()
    args = dict(a.split("=", 1) for k, a in steps if k == "ARG" and "=" in a)
    froms = [
        a.replace("${PYTHON_IMAGE}", args.get("PYTHON_IMAGE", "")) for k, a in steps if k == "FROM"
    ]
    assert len(froms) >= 2, froms
    assert all(f.startswith("python:3.11-slim") for f in froms), froms
    runs = " ".join(a for k, a in steps if k == "RUN")
    assert "pip wheel" in runs and "[postgres]" in runs


def test_runs_as_non_root_uid_10001() -> None:
    users = [a for k, a in instructions() if k == "USER"]
    assert users, "no USER: the image would run as root"
    final = users[-1].split(":")[0]
    assert final not in {"root", "0"}
    assert final == "10001"  # numeric: what runAsNonRoot (k8s) can verify


def test_entrypoint_cmd_port_and_healthcheck() -> None:
    steps = dict(instructions())  # last one of each wins, as in Docker
    assert json.loads(steps["ENTRYPOINT"]) == ["planerka-sync"]
    assert json.loads(steps["CMD"]) == ["run", "--http", "0.0.0.0:9108", "--log-format", "json"]
    assert steps["EXPOSE"] == "9108"
    assert "WORKDIR" in steps
    health = steps["HEALTHCHECK"]
    assert "urllib.request" in health and "127.0.0.1:9108/healthz" in health
    assert "curl" not in health
    env = steps["ENV"]
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env


def test_no_secrets_baked_in() -> None:
    for keyword, args in instructions():
        if keyword in {"ENV", "ARG", "LABEL"}:
            assert not re.search(r"(TOKEN|API_KEY|PASSWORD|SECRET|JIRA_EMAIL)", args, re.I), args
        if keyword in {"COPY", "ADD"}:
            assert ".env" not in args and "planerka.yaml" not in args, args


def test_dockerignore_admits_exactly_what_the_build_copies() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "**", "start from excluding everything (no .env, .git, .venv, state DBs)"
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = set()
    for keyword, args in instructions():
        if keyword == "COPY" and "--from" not in args:
            copied.update(args.split()[:-1])
    assert copied == admitted, (copied, admitted)
    for path in copied:
        assert (REPO / path).exists(), path
    # Symlinks are copied as links (planerka_sync/builtin -> ../config): their targets must be
    # in the build context too, or the wheel silently ships without the built-in data.
    for path in copied:
        for link in [p for p in (REPO / path).rglob("*") if p.is_symlink()]:
            target = link.resolve().relative_to(REPO)
            assert any(target.is_relative_to(c) for c in copied), (
                f"{link.relative_to(REPO)} -> {target}: not copied")
