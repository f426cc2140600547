"""Nothing under deploy/ carries a real secret: placeholders and ${VAR} references only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.common import DEPLOY, K8S, REPO, env_example, load_yaml

# deploy/.env and deploy/planerka.yaml are the operator's local, git-ignored copies: not ours.
LOCAL_COPIES = {DEPLOY / ".env", DEPLOY / "planerka.yaml"}
FILES = [
    *sorted(p for p in DEPLOY.rglob("*") if p.is_file() and p not in LOCAL_COPIES),
    REPO / ".dockerignore",
]

TOKEN_PATTERNS = {
    "Trello token": r"ATTA[0-9A-Fa-f]{32,}",
    "Atlassian API token": r"ATATT[0-9A-Za-z_\-=]{20,}",
    "Trello API key (32 hex)": r"\b[0-9a-f]{32}\b",
    "AWS access key": r"AKIA[0-9A-Z]{16}",
    "GitHub token": r"gh[pousr]_[0-9A-Za-z]{30,}",
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "Authorization header value": r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9+/=._-]{16,}",
}
# 32+ characters of letters mixed with digits, as generated tokens and keys are.
RANDOM_LOOKING = re.compile(r"(?<![\w/.-])[A-Za-z0-9+/_-]{32,}={0,2}(?![\w/.-])")
# user:password@ in a URL must use a ${VAR} reference for the password.
URL_PASSWORD = re.compile(r"://[^:/\s@]+:([^@\s]+)@")


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(Path(p).relative_to(REPO)))
def test_no_token_patterns(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for what, pattern in TOKEN_PATTERNS.items():
        match = re.search(pattern, text)
        assert match is None, f"{path.name}: looks like a {what}: {match.group(0)[:12]}..."
    for match in RANDOM_LOOKING.finditer(text):
        word = match.group(0)
        looks_random = re.search(r"\d", word) and re.search(r"[A-Za-z]", word)
        assert not looks_random, f"{path.name}: looks like a token: {word[:12]}..."
    for password in URL_PASSWORD.findall(text):
        assert password.startswith("${"), f"{path.name}: literal password in a URL"


def test_local_copies_are_git_ignored() -> None:
    ignored = (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()
    assert {p.name for p in LOCAL_COPIES} <= set(ignored)


def test_examples_hold_no_values() -> None:
    assert all(value == "" for value in env_example().values())
    secret = load_yaml(K8S / "secret.yaml")
    assert secret["stringData"], "the Secret lists the variables"
    assert all(value in ("", None) for value in secret["stringData"].values())
    assert "data" not in secret, "base64 data would hide values from review: use stringData"
    compose = load_yaml(DEPLOY / "compose.yaml")
    password = compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert password.startswith("${PGPASSWORD")
