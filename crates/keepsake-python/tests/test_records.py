"""The record-level writer and reader, for applications with their own schema."""

import io
import sqlite3
import datetime

import pytest

import keepsake
from conftest import FAST, KEY, OTHER_KEY, BASE_NS, consent, conversation, message, sample_records


def read_all(source, key=KEY, **options):
    reader = keepsake.ArchiveReader(source, key, **options)
    return list(reader), reader


def test_records_round_trip_through_a_file_and_a_file_object(tmp_path, records):
    signing_key = keepsake.SigningKey.generate()
    path = tmp_path / "out.keepsake"
    writer = keepsake.ArchiveWriter(
        str(path),
        KEY,
        start=BASE_NS,
        end=datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc),
        elements=("messages", "consent"),
        level=19,
        chunk_size=4096,
        signing_key=signing_key,
        creator="my-sdk 2.1",
    )
    for record in records:
        writer.write(record)
    assert not path.exists(), "the file appears only when finished"
    trailer = writer.finish()
    assert (trailer.conversations, trailer.messages, trailer.consent) == (3, 60, 4)
    assert trailer.chunk_count > 3

    found, reader = read_all(path)
    assert found == records
    assert reader.metadata.creator == "my-sdk 2.1"
    assert reader.metadata.elements == ["messages", "consent"]
    assert reader.metadata.start_ns == BASE_NS
    assert reader.metadata.end_ns == 4102444800 * 10**9
    assert reader.trailer.content_digest == trailer.content_digest
    assert reader.signature.status == "valid"
    assert reader.signature.signer == signing_key.signer

    sink = io.BytesIO()
    with keepsake.ArchiveWriter(sink, KEY) as writer:
        assert writer.write_all(iter(records)) == len(records)
    found, reader = read_all(io.BytesIO(sink.getvalue()))
    assert found == records
    assert reader.signature.status == "unsigned"


def test_a_reader_closes_at_the_end_of_its_block(archive, records):
    with keepsake.ArchiveReader(archive, KEY) as reader:
        assert next(reader) == records[0]
    with pytest.raises(keepsake.InvalidInputError, match="closed"):
        next(reader)
    with pytest.raises(keepsake.InvalidInputError, match="closed"):
        reader.trailer
    assert reader.metadata.mode == "records"


def test_batches_come_out_in_order_and_end_with_none(archive, records):
    reader = keepsake.ArchiveReader(archive, KEY, threads=1)
    assert reader.trailer is None, "no trailer before the end"
    first = next(reader)
    batches = [[first] + reader.next_batch()]
    while (batch := reader.next_batch()) is not None:
        batches.append(batch)
    assert len(batches) > 1
    assert [record for batch in batches for record in batch] == records
    assert reader.next_batch() is None
    assert reader.trailer.messages == 60


def test_every_key_kind_opens_its_slot_and_no_other(tmp_path, records):
    identity = keepsake.X25519Identity.generate()
    passphrase = keepsake.Passphrase("correct horse battery staple", **FAST)
    path = tmp_path / "slots.keepsake"
    with keepsake.ArchiveWriter(path, [KEY, passphrase, identity.recipient]) as writer:
        writer.write_all(records)
    for key in (KEY, passphrase, identity, [OTHER_KEY, identity], KEY.hex().encode() + b"\n"):
        assert read_all(path, key)[0] == records
    assert keepsake.archive_metadata(path, identity).key_slots == 3
    again = keepsake.X25519Identity(identity.to_text())
    assert str(again.recipient) == str(identity.recipient)
    assert keepsake.X25519Recipient(str(identity.recipient)) == identity.recipient
    for wrong in (OTHER_KEY, keepsake.Passphrase("wrong", **FAST), keepsake.X25519Identity.generate()):
        with pytest.raises(keepsake.WrongKeyError) as caught:
            keepsake.ArchiveReader(path, wrong)
        assert caught.value.kind == "wrong_key"
    assert "redacted" in repr(passphrase) and "redacted" in repr(identity)


@pytest.mark.parametrize(
    "key, error",
    [
        (bytes(31), keepsake.InvalidKeyError),
        ("not bytes", keepsake.InvalidInputError),
        ([], keepsake.InvalidInputError),
    ],
)
def test_malformed_keys_are_refused(tmp_path, key, error):
    with pytest.raises(error):
        keepsake.ArchiveWriter(tmp_path / "x.keepsake", key)
    assert not (tmp_path / "x.keepsake").exists()


def test_records_in_python_types_are_checked_field_by_field(tmp_path):
    writer = keepsake.ArchiveWriter(io.BytesIO(), KEY)
    bad = [
        ({**consent(1), "state": "maybe"}, "one of"),
        ({**consent(1), "updated": 1}, "no field 'updated'"),
        ({k: v for k, v in consent(1).items() if k != "entity"}, "needs \"entity\""),
        ({**conversation(1), "id": "c001"}, "\"id\""),
        ({**consent(1), "type": "letter"}, "letter"),
        ("a string", "dict"),
        (message(9, 1), "dependency order"),
    ]
    for record, reason in bad:
        with pytest.raises(keepsake.InvalidInputError, match=reason):
            writer.write(record)
    # Nullable fields may be left out; the writer is still usable.
    sparse = conversation(2)
    for field in ("name", "dm_peer", "added_by", "last_message_ns"):
        del sparse[field]
    writer.write(sparse)
    assert writer.finish().conversations == 1
    with pytest.raises(keepsake.InvalidInputError, match="finished"):
        writer.write(consent(1))


def test_a_path_that_exists_is_never_replaced_and_an_abandoned_file_never_appears(tmp_path, archive):
    before = archive.read_bytes()
    with pytest.raises(keepsake.InvalidInputError, match="already exists"):
        keepsake.ArchiveWriter(archive, KEY)
    assert archive.read_bytes() == before
    path = tmp_path / "abandoned.keepsake"
    with pytest.raises(RuntimeError):
        with keepsake.ArchiveWriter(path, KEY) as writer:
            writer.write(consent(1))
            raise RuntimeError("the application failed")
    assert not path.exists()
    assert [p.name for p in tmp_path.iterdir()] == [archive.name]


def test_an_exception_from_a_file_object_propagates(records):
    class Full(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        keepsake.ArchiveWriter(Full(), KEY)


def test_an_application_with_its_own_schema_archives_and_restores_its_rows(tmp_path):
    """The use case: an SDK whose database is not the reference schema."""
    schema = """
        CREATE TABLE chats (chat_id BLOB PRIMARY KEY, title TEXT, peer TEXT);
        CREATE TABLE msgs (msg_id BLOB PRIMARY KEY, chat BLOB, author TEXT, at INTEGER, body BLOB);
    """
    source = sqlite3.connect(tmp_path / "app.db")
    source.executescript(schema)
    source.executemany(
        "INSERT INTO chats VALUES (?, ?, ?)",
        [(b"\x01", "Family", None), (b"\x02", None, "carol")],
    )
    source.executemany(
        "INSERT INTO msgs VALUES (?, ?, ?, ?, ?)",
        [(bytes([9, i]), b"\x01" if i < 3 else b"\x02", "me", BASE_NS + i, f"hi {i}".encode()) for i in range(5)],
    )
    source.commit()

    def records():
        for chat_id, title, peer in source.execute("SELECT * FROM chats ORDER BY chat_id"):
            yield conversation(0, id=chat_id, kind="dm" if peer else "group", name=title, dm_peer=peer)
            for msg_id, author, at, body in source.execute(
                "SELECT msg_id, author, at, body FROM msgs WHERE chat = ? ORDER BY at", (chat_id,)
            ):
                yield message(0, 0, id=msg_id, conversation_id=chat_id, sender_id=author,
                              sent_at_ns=at, content=body, reference_id=None)

    archive = tmp_path / "app.keepsake"
    with keepsake.ArchiveWriter(archive, KEY) as writer:
        writer.write_all(records())

    target = sqlite3.connect(tmp_path / "restored.db")
    target.executescript(schema)
    for record in keepsake.ArchiveReader(archive, KEY):
        if record["type"] == "conversation":
            target.execute("INSERT INTO chats VALUES (?, ?, ?)", (record["id"], record["name"], record["dm_peer"]))
        else:
            target.execute(
                "INSERT INTO msgs VALUES (?, ?, ?, ?, ?)",
                (record["id"], record["conversation_id"], record["sender_id"], record["sent_at_ns"], record["content"]),
            )
    target.commit()
    for table in ("chats", "msgs"):
        query = f"SELECT * FROM {table} ORDER BY 1"
        assert target.execute(query).fetchall() == source.execute(query).fetchall()


def test_encode_record_gives_the_canonical_encoding():
    record = consent(3)
    encoded = keepsake.encode_record(record)
    # Record enum index 2 (consent), entity type 1 (inbox), "inbox-3", state 2 (denied), zigzag 1003.
    assert encoded == bytes([2, 1, 7]) + b"inbox-3" + bytes([2, 0xD6, 0x0F])
