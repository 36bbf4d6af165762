"""The archive-backup calls of messaging SDKs on reference-schema databases:
round trip, progress and cancellation, wrong keys, damaged archives, and the
interpreter released during long work."""

import faulthandler
import os
import sqlite3
import threading

import pytest

import keepsake
from conftest import BASE_NS, KEY, OTHER_KEY, consent


def rows(db):
    connection = sqlite3.connect(db)
    try:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("conversations", "messages", "consent")
        }
    finally:
        connection.close()


@pytest.fixture
def database(tmp_path, archive):
    """A reference-schema database holding the sample records."""
    db = tmp_path / "chat.db"
    keepsake.import_archive(archive, KEY, db)
    return db


def test_create_metadata_import_round_trip(tmp_path, archive, database):
    events = []
    path = tmp_path / "backup.keepsake"
    created = keepsake.create_archive(database, path, KEY, progress=events.append)
    assert (created.counts.conversations, created.counts.messages, created.counts.consent) == (3, 60, 4)
    assert created.archive_bytes == path.stat().st_size and created.seek_index
    assert events[-1].finished and sum(event.finished for event in events) == 1
    assert {event.phase for event in events} == {"create"}

    summary = keepsake.archive_metadata(path, KEY)
    assert summary.format_version == 1 and summary.key_slots == 1
    assert summary.trailer.messages == 60 and summary.metadata.mode == "records"
    assert summary.signature.status == "unsigned"

    restored = tmp_path / "restored.db"
    events.clear()
    report = keepsake.import_archive(path, KEY, restored, progress=events.append)
    assert (report.inserted.conversations, report.inserted.messages, report.inserted.consent) == (3, 60, 4)
    assert events[-1].finished and events[-1].records_total == 67
    assert rows(restored) == rows(database)
    again = keepsake.import_archive(path, KEY, restored)
    assert (again.inserted.messages, again.skipped.messages, again.skipped.consent) == (0, 60, 4)
    verified = keepsake.verify_archive(path, KEY)
    assert verified.trailer.messages == 60 and verified.chunks >= 3
    assert "messages=60" in repr(verified.trailer)


def test_create_selects_a_time_range_and_elements(tmp_path, database):
    path = tmp_path / "range.keepsake"
    # Conversation 1's messages start 100 s after BASE_NS; conversation 2's at 200 s.
    created = keepsake.create_archive(
        database, path, KEY, start=BASE_NS + 100 * 10**9, end=BASE_NS + 200 * 10**9, elements=("messages",)
    )
    assert (created.counts.conversations, created.counts.messages, created.counts.consent) == (1, 20, 0)
    metadata = keepsake.archive_metadata(path, KEY).metadata
    assert metadata.elements == ["messages"] and metadata.start_ns == BASE_NS + 100 * 10**9
    for elements in ((), ("messages", "attachments"), "messages"):
        with pytest.raises(keepsake.InvalidInputError):
            keepsake.create_archive(database, tmp_path / "bad.keepsake", KEY, elements=elements)
    with pytest.raises(keepsake.InvalidInputError, match="empty"):
        keepsake.create_archive(database, tmp_path / "bad.keepsake", KEY, start=5, end=5)
    assert not (tmp_path / "bad.keepsake").exists()


def test_returning_false_cancels_and_leaves_nothing(tmp_path, archive, database):
    before = rows(database)
    path = tmp_path / "cancelled.keepsake"
    with pytest.raises(keepsake.CancelledError) as caught:
        keepsake.create_archive(database, path, KEY, progress=lambda event: False)
    assert caught.value.kind == "cancelled"
    assert not path.exists() and not any(p.name.endswith(".partial") for p in tmp_path.iterdir())

    with pytest.raises(keepsake.CancelledError):
        keepsake.import_archive(archive, KEY, tmp_path / "new.db", progress=lambda event: False)
    assert not (tmp_path / "new.db").exists()
    # Into an existing database: nothing changes, not even the schema's rows.
    other = tmp_path / "other.keepsake"
    with keepsake.ArchiveWriter(other, KEY) as writer:
        writer.write(consent(99))
    with pytest.raises(keepsake.CancelledError):
        keepsake.import_archive(other, KEY, database, progress=lambda event: False)
    assert rows(database) == before
    with pytest.raises(keepsake.CancelledError):
        keepsake.verify_archive(archive, KEY, progress=lambda event: False)


def test_an_exception_in_the_callback_cancels_and_propagates(tmp_path, archive, database):
    def fail(event):
        raise ValueError("the user closed the window")

    with pytest.raises(ValueError, match="closed the window"):
        keepsake.import_archive(archive, KEY, tmp_path / "new.db", progress=fail)
    assert not (tmp_path / "new.db").exists()
    with pytest.raises(ValueError):
        keepsake.create_archive(database, tmp_path / "x.keepsake", KEY, progress=fail)
    assert not (tmp_path / "x.keepsake").exists()


def test_a_wrong_key_is_told_apart_and_imports_nothing(tmp_path, archive, database):
    before = rows(database)
    for call in (
        lambda: keepsake.archive_metadata(archive, OTHER_KEY),
        lambda: keepsake.verify_archive(archive, OTHER_KEY),
        lambda: keepsake.import_archive(archive, OTHER_KEY, database),
    ):
        with pytest.raises(keepsake.WrongKeyError):
            call()
    assert rows(database) == before


def test_a_trusted_signer_is_required_before_anything_is_imported(tmp_path, database):
    signing_key = keepsake.SigningKey.generate()
    other = keepsake.SigningKey.generate()
    signed = tmp_path / "signed.keepsake"
    keepsake.create_archive(database, signed, KEY, signing_key=signing_key)
    report = keepsake.verify_archive(signed, KEY, trusted_signer=signing_key.signer)
    assert report.signature.signer == signing_key.signer
    assert report.opened_with == "raw-key"
    assert report.sender_authenticated
    fresh = tmp_path / "fresh.db"
    with pytest.raises(keepsake.UntrustedSignatureError):
        keepsake.verify_archive(signed, KEY, trusted_signer=other.signer)
    with pytest.raises(keepsake.UntrustedSignatureError):
        keepsake.import_archive(signed, KEY, fresh, trusted_signer=other.signer)
    assert not fresh.exists()
    imported = keepsake.import_archive(signed, KEY, fresh, trusted_signer=signing_key.signer)
    assert imported.inserted.messages > 0
    assert imported.signature.status == "valid"
    assert imported.active_conversation_messages == 0
    assert imported.future_consent == 0
    assert rows(fresh) == rows(database)


def test_damage_is_reported_by_class_with_its_place(tmp_path, archive, database, records):
    data = archive.read_bytes()
    damaged = tmp_path / "damaged.keepsake"
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(flipped))
    before = rows(database)
    with pytest.raises(keepsake.CorruptError) as caught:
        keepsake.import_archive(damaged, KEY, database)
    assert caught.value.chunk >= 1 and caught.value.kind == "corrupt"
    assert rows(database) == before, "a failed import changes nothing"

    # A reader hands out the batches before the damage, then raises.
    released = []
    with pytest.raises(keepsake.CorruptError):
        for record in keepsake.ArchiveReader(damaged, KEY):
            released.append(record)
    assert released == records[: len(released)] and 0 < len(released) < len(records)

    cut = tmp_path / "cut.keepsake"
    cut.write_bytes(data[:-10])
    with pytest.raises(keepsake.TruncatedError) as caught:
        keepsake.verify_archive(cut, KEY)
    assert caught.value.offset == len(data) - 10
    longer = tmp_path / "longer.keepsake"
    longer.write_bytes(data + b"x")
    with pytest.raises(keepsake.TrailingDataError) as caught:
        keepsake.verify_archive(longer, KEY)
    assert caught.value.offset == len(data)
    text = tmp_path / "notes.txt"
    text.write_text("not an archive at all")
    with pytest.raises(keepsake.NotAnArchiveError):
        keepsake.archive_metadata(text, KEY)
    with pytest.raises(FileNotFoundError):
        keepsake.verify_archive(tmp_path / "missing.keepsake", KEY)
    for error in (keepsake.CorruptError, keepsake.TruncatedError, keepsake.WrongKeyError):
        assert issubclass(error, keepsake.KeepsakeError) and error.__module__ == "keepsake"


def test_a_reader_over_the_limits_refuses_before_allocating(archive):
    with pytest.raises(keepsake.LimitExceededError) as caught:
        keepsake.ArchiveReader(archive, KEY, max_chunk_size=4095)
    assert (caught.value.limit, caught.value.value, caught.value.maximum) == ("chunk_size", 4096, 4095)


def test_the_interpreter_is_released_while_reading(tmp_path, archive, records):
    """The reader blocks on a pipe that only this thread fills: if it held the
    interpreter while waiting, this thread could never write, and the test
    would hang (the watchdog then fails it)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    found = []
    failure = []

    def read():
        try:
            found.extend(keepsake.ArchiveReader(fifo, KEY))
        except Exception as error:  # reported below
            failure.append(error)

    faulthandler.dump_traceback_later(120, exit=True)
    try:
        reader = threading.Thread(target=read)
        reader.start()
        data = archive.read_bytes()
        with open(fifo, "wb") as pipe:
            for start in range(0, len(data), 1000):
                pipe.write(data[start : start + 1000])
                pipe.flush()
        reader.join()
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert not failure and found == records
