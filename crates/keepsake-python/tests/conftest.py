"""Shared fixtures: keys, and records of every kind in dependency order."""

import pytest

import keepsake

KEY = bytes(range(32))
OTHER_KEY = bytes([0xEE] * 32)
# The least Argon2 cost a writer may use: fast enough for tests.
FAST = {"memory_kib": 19456, "passes": 2, "lanes": 1}
BASE_NS = 1_700_000_000_000_000_000


def conversation(n, **fields):
    record = {
        "type": "conversation",
        "id": bytes([0xC0, n]),
        "kind": "group" if n % 2 else "dm",
        "created_at_ns": BASE_NS + n,
        "name": f"group {n}" if n % 2 else None,
        "dm_peer": None if n % 2 else f"peer-{n}",
        "added_by": "alice",
        "member_ids": ["alice", "bob"],
        "metadata": {"description": "a test conversation", "image": ""},
        "last_message_ns": None,
    }
    record.update(fields)
    return record


def message(n, m, **fields):
    record = {
        "type": "message",
        "id": bytes([0xAA, n, m]),
        "conversation_id": bytes([0xC0, n]),
        "sender_id": "bob" if m % 2 else "alice",
        "sender_installation_id": b"\x01\x02",
        "sent_at_ns": BASE_NS + 1_000_000_000 * (100 * n + m),
        "kind": "application" if m else "membership_change",
        "content_type": "xmtp.org/text:1.0",
        "content": bytes((i * 7 + m) % 256 for i in range(300)),
        "delivery_status": "published",
        "reference_id": bytes([0xAA, n, m - 1]) if m else None,
        "expires_at_ns": None,
    }
    record.update(fields)
    return record


def consent(n):
    return {
        "type": "consent",
        "entity_type": "inbox",
        "entity": f"inbox-{n}",
        "state": "denied" if n % 2 else "allowed",
        "updated_at_ns": 1000 + n,
    }


def sample_records(conversations=3, messages=20, consents=4):
    records = []
    for n in range(conversations):
        records.append(conversation(n))
        records.extend(message(n, m) for m in range(messages))
    records.extend(consent(n) for n in range(consents))
    return records


@pytest.fixture
def records():
    return sample_records()


@pytest.fixture
def archive(tmp_path, records):
    """An archive of `records`, which KEY opens, written with small chunks."""
    path = tmp_path / "sample.keepsake"
    with keepsake.ArchiveWriter(path, KEY, chunk_size=4096) as writer:
        writer.write_all(records)
    return path
