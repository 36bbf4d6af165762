"""Every published test vector, read through the Python package: the outcome
and its refinement, the released records and their hash, and for successes
the records, metadata, trailer and signature the manifest states."""

import hashlib
import io
import json
from pathlib import Path

import pytest

import keepsake

VECTORS = Path(__file__).resolve().parents[3] / "test-vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text())

# The outcome word of each exception class (spec §7.3), and its refinement.
OUTCOMES = {
    keepsake.WrongKeyError: ("wrong_key", lambda e: {}),
    keepsake.NotAnArchiveError: ("header_failure", lambda e: {"error": "not_an_archive"}),
    keepsake.HeaderCorruptError: ("header_failure", lambda e: {"error": "header_corrupt"}),
    keepsake.NoSupportedSlotError: ("header_failure", lambda e: {"error": "no_supported_slot"}),
    keepsake.UnsupportedSuiteError: (
        "header_failure",
        lambda e: {"error": "unsupported_suite", "suite": e.suite},
    ),
    keepsake.CorruptError: ("chunk_failure", lambda e: {"chunk": e.chunk}),
    keepsake.TruncatedError: ("truncated", lambda e: {"offset": e.offset}),
    keepsake.TrailingDataError: ("trailing_data", lambda e: {"offset": e.offset}),
    keepsake.UnsupportedVersionError: ("unsupported_version", lambda e: {"version": e.version}),
    keepsake.LimitExceededError: ("limit_exceeded", lambda e: {"limit": e.limit}),
    keepsake.UnknownCriticalChunkError: (
        "critical_unknown_chunk",
        lambda e: {"chunk": e.chunk, "kind": e.chunk_kind},
    ),
}
REFINEMENTS = ("error", "suite", "chunk", "kind", "limit", "version", "offset")


class Trickle(io.RawIOBase):
    """A file object that hands over 1 to 13 bytes per read."""

    def __init__(self, data):
        self.data, self.at, self.step = data, 0, 1

    def readable(self):
        return True

    def read(self, size=-1):
        size = min(size, self.step) if size >= 0 else self.step
        self.step = self.step % 13 + 1
        chunk = self.data[self.at : self.at + size]
        self.at += len(chunk)
        return chunk


def opener(entry):
    if "key" in entry:
        return bytes.fromhex(entry["key"])
    if "passphrase" in entry:
        return keepsake.Passphrase(entry["passphrase"])
    return keepsake.X25519Identity(entry["identity"])


def as_json(record):
    """A record dict in the records files' JSON form."""
    out = {}
    for name, value in record.items():
        if isinstance(value, bytes):
            value = value.hex()
        elif isinstance(value, int) and not isinstance(value, bool) and name.endswith("_ns"):
            value = str(value)
        out[name] = value
    return out


@pytest.mark.parametrize("entry", MANIFEST["vectors"], ids=lambda entry: entry["name"])
def test_vector(entry):
    limits = MANIFEST["reader_limits"]
    data = (VECTORS / entry["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["file_sha256"]
    released, reader, outcome, refinement = [], None, "success", {}
    try:
        reader = keepsake.ArchiveReader(
            Trickle(data),
            opener(entry),
            max_chunk_size=limits["max_chunk_size"],
            max_record_size=limits["max_record_size"],
        )
        for record in reader:
            released.append(record)
    except keepsake.KeepsakeError as error:
        outcome, refine = OUTCOMES[type(error)]
        refinement = refine(error)
    assert outcome == entry["outcome"]
    assert refinement == {field: entry[field] for field in REFINEMENTS if field in entry}
    assert len(released) == entry["released_records"]
    digest = hashlib.sha256(b"".join(keepsake.encode_record(record) for record in released))
    assert digest.hexdigest() == entry["released_records_sha256"]
    if outcome != "success":
        return

    if "records_file" in entry:
        expected = json.loads((VECTORS / entry["records_file"]).read_text())
        assert [as_json(record) for record in released] == expected
    metadata = reader.metadata
    assert {
        "mode": metadata.mode,
        "created_at_ns": str(metadata.created_at_ns),
        "elements": {"messages": "messages" in metadata.elements, "consent": "consent" in metadata.elements},
        "start_ns": None if metadata.start_ns is None else str(metadata.start_ns),
        "end_ns": None if metadata.end_ns is None else str(metadata.end_ns),
        "creator": metadata.creator,
    } == entry["metadata"]
    assert reader.key_slots == entry["header"]["key_slots"]
    trailer = reader.trailer
    expected = entry["trailer"]
    for field in ("chunk_count", "conversations", "messages", "consent", "pages", "plaintext_bytes",
                  "index_chunk", "index_offset"):
        assert getattr(trailer, field) == expected[field], field
    assert trailer.time_range == (None if expected["time_range"] is None else tuple(map(int, expected["time_range"])))
    assert trailer.content_digest.hex() == expected["content_digest"]
    assert trailer.signature_block.hex() == expected["signature_block"]
    if "signature" in entry:
        assert reader.signature.status == entry["signature"]["status"]
        assert reader.signature.signer == entry["signature"].get("signer")
