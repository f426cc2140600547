"""Webhook signatures, checked against the sandbox's own Trello signer and by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from planerka_sync.webhooks import (
    SeenDeliveries,
    jira_signature,
    jira_valid,
    trello_signature,
    trello_valid,
)

BODY = b'{"action": {"type": "commentCard"}}'
CALLBACK = "https://planerka.example.org/webhooks/trello"


def test_trello_signature_is_hmac_sha1_of_body_and_callback() -> None:
    expected = base64.b64encode(hmac.new(b"app-secret", BODY + CALLBACK.encode(),
                                         hashlib.sha1).digest()).decode()
    assert trello_signature("app-secret", BODY, CALLBACK) == expected
    assert trello_valid("app-secret", BODY, CALLBACK, expected)


def test_trello_rejects_a_changed_body_callback_or_missing_header() -> None:
    good = trello_signature("app-secret", BODY, CALLBACK)
    assert not trello_valid("app-secret", BODY + b" ", CALLBACK, good)
    assert not trello_valid("app-secret", BODY, CALLBACK + "/", good)
    assert not trello_valid("other", BODY, CALLBACK, good)
    assert not trello_valid("app-secret", BODY, CALLBACK, None)


def test_jira_signature_is_sha256_hex_with_prefix() -> None:
    expected = "sha256=" + hmac.new(b"s", BODY, hashlib.sha256).hexdigest()
    assert jira_signature("s", BODY) == expected
    assert jira_valid("s", BODY, expected)
    assert not jira_valid("s", BODY, expected.removeprefix("sha256="))
    assert not jira_valid("s", BODY + b"x", expected)
    assert not jira_valid("", BODY, expected)


def test_a_retried_delivery_is_seen_once_until_it_expires() -> None:
    now = [0.0]
    seen = SeenDeliveries(ttl_seconds=60, clock=lambda: now[0])
    assert seen.first_time("d-1") and not seen.first_time("d-1")
    assert seen.first_time("d-2")
    now[0] = 61
    assert seen.first_time("d-1")


@given(st.binary(), st.text(), st.text())
def test_only_the_right_signature_passes(body: bytes, secret: str, header: str) -> None:
    right = trello_signature(secret, body, CALLBACK)
    assert trello_valid(secret, body, CALLBACK, header) == (bool(secret) and header.strip()
                                                            == right)


def test_the_sandbox_trello_deliveries_verify() -> None:
    from planerka_sync.sandbox.trello import sign_webhook

    header = sign_webhook("sandbox-secret", BODY, CALLBACK)
    assert trello_valid("sandbox-secret", BODY, CALLBACK, header)
