//! The seek index: written by the writer, skipped by the streaming reader,
//! used by the seekable reader for partial imports that decrypt only the
//! chunks they need.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};

use keepsake::format::ChunkKind;
use keepsake::{
    ArchiveKey, ArchiveMetadata, ArchiveReader, ArchiveWriter, Error, Identity, Limits, Record,
    SeekableArchive, Selection, WriterOptions,
};
use keepsake_sqlite::sample::{SAMPLE_END_NS, SAMPLE_SPAN_NS, SampleOptions, write_sample};
use keepsake_sqlite::{
    CreateOptions, ImportOptions, create_archive, import_archive, import_selected,
};
use rusqlite::Connection;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    key: ArchiveKey,
    archive: PathBuf,
}

fn identities(key: &ArchiveKey) -> Vec<Identity> {
    vec![Identity::RawKey(key.clone())]
}

impl Fixture {
    /// A sample database archived in small chunks, so a selection has many to skip.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let db = root.join("source.db");
        write_sample(
            &db,
            &SampleOptions {
                messages: 1500,
                conversations: 12,
                ..SampleOptions::default()
            },
        )
        .unwrap();
        let key = ArchiveKey::from_bytes([9; 32]);
        let archive = root.join("archive.ksk");
        let options = CreateOptions {
            writer: WriterOptions {
                chunk_size: 8192,
                level: 1,
                threads: 1,
                ..WriterOptions::default()
            },
            ..CreateOptions::default()
        };
        create_archive(&db, &archive, &[&key], &options).unwrap();
        Fixture {
            _dir: dir,
            root,
            key,
            archive,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn open(&self, archive: &Path) -> SeekableArchive<File> {
        SeekableArchive::open(
            File::open(archive).unwrap(),
            &identities(&self.key),
            Limits::default(),
        )
        .unwrap()
    }

    /// Every record batch, with its chunk number, through the streaming reader.
    fn batches(&self, archive: &Path) -> Vec<(u64, Vec<Record>)> {
        let mut reader = ArchiveReader::new(
            File::open(archive).unwrap(),
            &identities(&self.key),
            Limits::default(),
        )
        .unwrap();
        let mut out = Vec::new();
        while let Some(batch) = reader.next_batch().unwrap() {
            out.push((reader.chunks_read() - 1, batch));
        }
        out
    }

    /// A full import, then the rows the selection leaves out deleted in SQL.
    fn expected(&self, name: &str, delete: &[String]) -> [u8; 32] {
        let db = self.path(name);
        import_archive(&self.archive, &[self.key.clone().into()], &db).unwrap();
        let conn = Connection::open(&db).unwrap();
        for statement in delete {
            conn.execute(statement, []).unwrap();
        }
        drop(conn);
        common::database_digest(&db)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The conversation ids of an archive, in archive order.
fn conversation_ids(batches: &[(u64, Vec<Record>)]) -> Vec<Vec<u8>> {
    batches
        .iter()
        .flat_map(|(_, records)| records)
        .filter_map(|record| match record {
            Record::Conversation(conversation) => Some(conversation.id.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_index_describes_every_chunk_and_the_streaming_reader_skips_it() {
    let fixture = Fixture::new();
    let archive = fixture.open(&fixture.archive);
    let trailer = archive.trailer().clone();
    let index = archive.index().expect("an index").clone();
    assert_eq!(trailer.index_chunk, trailer.chunk_count - 1);
    assert_eq!(index.chunks.len() as u64, trailer.index_chunk);
    assert_eq!(index.chunks[0].kind, ChunkKind::METADATA.0);
    assert_eq!(
        index.chunks.iter().map(|entry| entry.messages).sum::<u64>(),
        trailer.messages
    );
    assert_eq!(
        index.chunks.iter().map(|entry| entry.consent).sum::<u64>(),
        trailer.consent
    );
    assert_eq!(
        index
            .chunks
            .iter()
            .map(|entry| entry.conversation_records.len() as u64)
            .sum::<u64>(),
        trailer.conversations
    );
    assert!(index.chunks.len() > 10, "small chunks make many batches");

    // Each batch's records agree with its entry, read both ways.
    let batches = fixture.batches(&fixture.archive);
    let mut seekable = fixture.open(&fixture.archive);
    for (chunk, records) in &batches {
        let entry = &index.chunks[*chunk as usize];
        let messages = records
            .iter()
            .filter(|record| matches!(record, Record::Message(_)))
            .count() as u64;
        assert_eq!(entry.messages, messages);
        assert_eq!(&seekable.read_chunk(*chunk).unwrap(), records);
    }
    // The streaming reader read every chunk, the index included, and the trailer.
    assert_eq!(
        batches.len() as u64 + 3,
        trailer.chunk_count + 1,
        "metadata, batches, index, trailer"
    );
}

#[test]
fn a_damaged_index_is_corrupt_both_ways() {
    let fixture = Fixture::new();
    let trailer = fixture.open(&fixture.archive).trailer().clone();
    let mut bytes = std::fs::read(&fixture.archive).unwrap();
    let at = trailer.index_offset as usize + 18 + 3;
    bytes[at] ^= 0x40;
    let damaged = fixture.path("damaged.ksk");
    std::fs::write(&damaged, &bytes).unwrap();

    let seek = SeekableArchive::open(
        File::open(&damaged).unwrap(),
        &identities(&fixture.key),
        Limits::default(),
    );
    assert!(
        matches!(seek, Err(Error::Corrupt { chunk, .. }) if chunk == trailer.index_chunk),
        "{seek:?}"
    );

    let mut reader = ArchiveReader::new(
        File::open(&damaged).unwrap(),
        &identities(&fixture.key),
        Limits::default(),
    )
    .unwrap();
    let outcome = loop {
        match reader.next_batch() {
            Ok(Some(_)) => continue,
            other => break other,
        }
    };
    assert!(
        matches!(outcome, Err(Error::Corrupt { chunk, .. }) if chunk == trailer.index_chunk),
        "{outcome:?}"
    );
}

#[test]
fn a_conversation_import_reads_only_its_chunks_and_equals_the_filtered_full_import() {
    let fixture = Fixture::new();
    let batches = fixture.batches(&fixture.archive);
    let ids = conversation_ids(&batches);
    let chosen = ids[ids.len() / 2].clone();
    let selection = Selection {
        conversations: vec![chosen.clone()],
        ..Selection::default()
    };
    let db = fixture.path("partial.db");
    let report = import_selected(
        &fixture.archive,
        &identities(&fixture.key),
        &db,
        &selection,
        &ImportOptions::default(),
    )
    .unwrap();
    let id = hex(&chosen);
    let expected = fixture.expected(
        "expected.db",
        &[
            format!("DELETE FROM messages WHERE hex(conversation_id) != upper('{id}')"),
            format!("DELETE FROM conversations WHERE hex(id) != upper('{id}')"),
            format!(
                "DELETE FROM consent WHERE NOT (entity_type = 'conversation' AND entity = '{id}')"
            ),
        ],
    );
    assert_eq!(common::database_digest(&db), expected);
    assert!(report.import.messages.inserted > 0);

    // Exactly the chunks the index implies: metadata, index, trailer, and the
    // batches holding the conversation's records, its messages, or consent.
    let archive = fixture.open(&fixture.archive);
    let index = archive.index().unwrap();
    let needed = selection.chunks(index);
    assert!(report.seek.used_index);
    assert_eq!(report.seek.chunks_decrypted, 3 + needed.len() as u64);
    assert!(report.seek.chunks_decrypted < report.seek.chunks_total);
    // The needed chunks are no more than the ones that really hold such records.
    for (chunk, records) in &batches {
        let holds = records.iter().any(|record| match record {
            Record::Conversation(c) => c.id == chosen,
            Record::Message(m) => m.conversation_id == chosen,
            Record::Consent(_) => true,
        });
        assert_eq!(needed.contains(chunk), holds, "chunk {chunk}");
    }
}

#[test]
fn a_time_range_import_equals_the_filtered_full_import() {
    let fixture = Fixture::new();
    let since = SAMPLE_END_NS - SAMPLE_SPAN_NS / 3;
    let until = SAMPLE_END_NS - SAMPLE_SPAN_NS / 6;
    let selection = Selection {
        since: Some(since),
        until: Some(until),
        ..Selection::default()
    };
    let db = fixture.path("partial.db");
    let report = import_selected(
        &fixture.archive,
        &identities(&fixture.key),
        &db,
        &selection,
        &ImportOptions::default(),
    )
    .unwrap();
    let expected = fixture.expected(
        "expected.db",
        &[
            format!(
                "DELETE FROM messages WHERE NOT (sent_at_ns >= {since} AND sent_at_ns < {until})"
            ),
            "DELETE FROM conversations WHERE id NOT IN (SELECT conversation_id FROM messages)"
                .to_owned(),
            "DELETE FROM consent".to_owned(),
        ],
    );
    assert_eq!(common::database_digest(&db), expected);
    assert!(report.import.messages.inserted > 0);
    let archive = fixture.open(&fixture.archive);
    let needed = selection.chunks(archive.index().unwrap());
    assert_eq!(report.seek.chunks_decrypted, 3 + needed.len() as u64);
    assert!(report.seek.chunks_decrypted < report.seek.chunks_total);
}

#[test]
fn without_an_index_a_partial_import_reads_everything_and_says_so() {
    let fixture = Fixture::new();
    let batches = fixture.batches(&fixture.archive);
    let plain = fixture.path("plain.ksk");
    let mut writer = ArchiveWriter::new(
        File::create(&plain).unwrap(),
        &[&fixture.key],
        &ArchiveMetadata::now(),
        &WriterOptions {
            chunk_size: 8192,
            level: 1,
            threads: 1,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    writer.without_index();
    for (_, records) in &batches {
        for record in records {
            writer.write_record(record).unwrap();
        }
    }
    let (_, trailer) = writer.finish().unwrap();
    assert_eq!((trailer.index_chunk, trailer.index_offset), (0, 0));
    assert!(fixture.open(&plain).index().is_none());

    let ids = conversation_ids(&batches);
    let selection = Selection {
        conversations: vec![ids[0].clone()],
        ..Selection::default()
    };
    let with_index = fixture.path("with.db");
    let without_index = fixture.path("without.db");
    let indexed = import_selected(
        &fixture.archive,
        &identities(&fixture.key),
        &with_index,
        &selection,
        &ImportOptions::default(),
    )
    .unwrap();
    let fallback = import_selected(
        &plain,
        &identities(&fixture.key),
        &without_index,
        &selection,
        &ImportOptions::default(),
    )
    .unwrap();
    assert!(indexed.seek.used_index);
    assert!(!fallback.seek.used_index);
    assert_eq!(fallback.seek.chunks_decrypted, fallback.seek.chunks_total);
    assert_eq!(indexed.import, fallback.import);
    assert_eq!(
        common::database_digest(&with_index),
        common::database_digest(&without_index)
    );
}

#[test]
fn the_summary_reads_no_chunk_between_the_metadata_and_the_trailer() {
    let fixture = Fixture::new();
    let full =
        keepsake_sqlite::archive_metadata(&fixture.archive, &[fixture.key.clone().into()]).unwrap();
    // Overwrite every byte between the metadata chunk and the final frame:
    // the summary, read in constant time, does not notice.
    let index = fixture.open(&fixture.archive).index().unwrap().clone();
    let mut bytes = std::fs::read(&fixture.archive).unwrap();
    let from = index.chunks[1].offset as usize;
    let to = bytes.len() - 546;
    bytes[from..to].fill(0xAA);
    let blanked = fixture.path("blanked.ksk");
    std::fs::write(&blanked, &bytes).unwrap();
    let summary =
        keepsake_sqlite::archive_metadata(&blanked, &[fixture.key.clone().into()]).unwrap();
    assert_eq!(summary.trailer, full.trailer);
    assert_eq!(summary.metadata, full.metadata);
}

#[test]
fn an_index_larger_than_a_chunk_is_left_out() {
    let key = ArchiveKey::from_bytes([4; 32]);
    let mut writer = ArchiveWriter::new(
        Vec::new(),
        &[&key],
        &ArchiveMetadata::now(),
        &WriterOptions {
            chunk_size: 4096,
            level: 1,
            threads: 1,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    // 300 ids of 32 bytes: the index's id list alone is over 4 KiB.
    for n in 0u16..300 {
        let mut id = vec![0x5a; 32];
        id[..2].copy_from_slice(&n.to_be_bytes());
        writer
            .write_record(&Record::Conversation(keepsake::Conversation {
                id,
                kind: keepsake::ConversationKind::Dm,
                created_at_ns: 0,
                name: None,
                dm_peer: None,
                added_by: None,
                member_ids: Vec::new(),
                metadata: Default::default(),
                last_message_ns: None,
            }))
            .unwrap();
    }
    let (bytes, trailer) = writer.finish().unwrap();
    assert_eq!((trailer.index_chunk, trailer.index_offset), (0, 0));
    let archive = SeekableArchive::open(
        std::io::Cursor::new(&bytes),
        &identities(&key),
        Limits::default(),
    )
    .unwrap();
    assert!(archive.index().is_none());
    let mut reader =
        ArchiveReader::new(bytes.as_slice(), &identities(&key), Limits::default()).unwrap();
    let mut records = 0;
    while let Some(batch) = reader.next_batch().unwrap() {
        records += batch.len();
    }
    assert_eq!(records, 300);
}

#[test]
fn a_partial_import_that_meets_a_damaged_chunk_changes_nothing() {
    let fixture = Fixture::new();
    let batches = fixture.batches(&fixture.archive);
    let ids = conversation_ids(&batches);
    let chosen = ids[1].clone();
    let selection = Selection {
        conversations: vec![chosen.clone()],
        ..Selection::default()
    };
    // Damage the chunk holding the chosen conversation's record.
    let (chunk, _) = batches
        .iter()
        .find(|(_, records)| {
            records
                .iter()
                .any(|record| matches!(record, Record::Conversation(c) if c.id == chosen))
        })
        .unwrap();
    let index = fixture.open(&fixture.archive).index().unwrap().clone();
    let mut bytes = std::fs::read(&fixture.archive).unwrap();
    bytes[index.chunks[*chunk as usize].offset as usize + 30] ^= 1;
    let damaged = fixture.path("damaged.ksk");
    std::fs::write(&damaged, &bytes).unwrap();

    let fresh = fixture.path("fresh.db");
    let outcome = import_selected(
        &damaged,
        &identities(&fixture.key),
        &fresh,
        &selection,
        &ImportOptions::default(),
    );
    assert!(
        matches!(outcome, Err(Error::Corrupt { chunk: c, .. }) if c == *chunk),
        "{outcome:?}"
    );
    assert!(
        !fresh.exists(),
        "a database created for the import is removed"
    );

    let existing = fixture.path("existing.db");
    import_archive(&fixture.archive, &[fixture.key.clone().into()], &existing).unwrap();
    let before = common::database_digest(&existing);
    let outcome = import_selected(
        &damaged,
        &identities(&fixture.key),
        &existing,
        &Selection::default(),
        &ImportOptions::default(),
    );
    assert!(outcome.is_err());
    assert_eq!(common::database_digest(&existing), before);
}
