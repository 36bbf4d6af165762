//! Salvage of damaged archives: truncated anywhere, with corrupt chunks in
//! the middle, or with damaged frame headers. The salvaged archive verifies
//! and holds exactly the records of the chunks that authenticate, minus the
//! messages whose conversation record was lost.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use keepsake::{
    ArchiveKey, ArchiveReader, Error, Identity, Limits, Record, SeekableArchive, WriterOptions,
    salvage_archive,
};
use keepsake_sqlite::sample::{SampleOptions, SampleShape, write_sample};
use keepsake_sqlite::{CreateOptions, create_archive};

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    key: ArchiveKey,
    bytes: Vec<u8>,
    /// Every record batch with its chunk number.
    batches: Vec<(u64, Vec<Record>)>,
    /// The frame offset of every chunk before the trailer, and the trailer's.
    offsets: Vec<u64>,
}

fn identities(key: &ArchiveKey) -> Vec<Identity> {
    vec![Identity::RawKey(key.clone())]
}

fn read_all(path: &Path, key: &ArchiveKey) -> Result<Vec<(u64, Vec<Record>)>, Error> {
    let mut reader = ArchiveReader::new(File::open(path)?, &identities(key), Limits::default())?;
    let mut out = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        out.push((reader.chunks_read() - 1, batch));
    }
    Ok(out)
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let db = root.join("source.db");
        write_sample(
            &db,
            &SampleOptions {
                messages: 400,
                conversations: 6,
                shape: SampleShape::TextHeavy,
                ..SampleOptions::default()
            },
        )
        .unwrap();
        let key = ArchiveKey::from_bytes([5; 32]);
        let archive = root.join("archive.ksk");
        let options = CreateOptions {
            writer: WriterOptions {
                chunk_size: 4096,
                level: 1,
                threads: 1,
                ..WriterOptions::default()
            },
            ..CreateOptions::default()
        };
        create_archive(&db, &archive, &[&key], &options).unwrap();
        let batches = read_all(&archive, &key).unwrap();
        let seekable = SeekableArchive::open(
            File::open(&archive).unwrap(),
            &identities(&key),
            Limits::default(),
        )
        .unwrap();
        let mut offsets: Vec<u64> = seekable
            .index()
            .unwrap()
            .chunks
            .iter()
            .map(|entry| entry.offset)
            .collect();
        offsets.push(seekable.trailer().index_offset);
        let bytes = std::fs::read(&archive).unwrap();
        offsets.push(bytes.len() as u64 - 546);
        assert!(batches.len() > 8, "{} batches", batches.len());
        Fixture {
            _dir: dir,
            root,
            key,
            bytes,
            batches,
            offsets,
        }
    }

    /// Salvages `bytes`; returns the report and the salvaged archive's batches.
    fn salvage(&self, name: &str, bytes: &[u8]) -> (keepsake::SalvageReport, Vec<Record>) {
        let damaged = self.root.join(format!("{name}.ksk"));
        std::fs::write(&damaged, bytes).unwrap();
        let out = self.root.join(format!("{name}-salvaged.ksk"));
        let report =
            salvage_archive(&damaged, &identities(&self.key), Limits::default(), &out).unwrap();
        let records = read_all(&out, &self.key)
            .unwrap()
            .into_iter()
            .flat_map(|(_, records)| records)
            .collect();
        (report, records)
    }

    /// The records of every chunk not in `lost`, minus messages whose
    /// conversation record is in a lost chunk; and how many such messages.
    fn expected(&self, lost: &HashSet<u64>) -> (Vec<Record>, u64) {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut dropped = 0;
        for (chunk, records) in &self.batches {
            if lost.contains(chunk) {
                continue;
            }
            for record in records {
                match record {
                    Record::Conversation(c) => {
                        seen.insert(c.id.clone());
                    }
                    Record::Message(m) if !seen.contains(&m.conversation_id) => {
                        dropped += 1;
                        continue;
                    }
                    _ => {}
                }
                out.push(record.clone());
            }
        }
        (out, dropped)
    }
}

#[test]
fn an_intact_archive_is_salvaged_completely() {
    let fixture = Fixture::new();
    let (report, records) = fixture.salvage("intact", &fixture.bytes);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(records, fixture.expected(&HashSet::new()).0);
}

#[test]
fn a_truncated_archive_keeps_every_complete_chunk() {
    let fixture = Fixture::new();
    let mut cuts: Vec<u64> = fixture.offsets[1..].to_vec();
    // Several offsets inside frames, and inside the final frame.
    for pair in fixture.offsets.windows(2).step_by(3) {
        cuts.push(pair[0] + 1);
        cuts.push(pair[0] + 18 + (pair[1] - pair[0] - 18) / 2);
    }
    cuts.push(fixture.bytes.len() as u64 - 1);
    for cut in cuts {
        let (report, records) =
            fixture.salvage(&format!("cut-{cut}"), &fixture.bytes[..cut as usize]);
        // Chunks whose frames end by the cut survive.
        let complete: HashSet<u64> = fixture
            .offsets
            .windows(2)
            .enumerate()
            .filter(|(_, pair)| pair[1] <= cut)
            .map(|(chunk, _)| chunk as u64)
            .collect();
        let lost: HashSet<u64> = fixture
            .batches
            .iter()
            .map(|(chunk, _)| *chunk)
            .filter(|chunk| !complete.contains(chunk))
            .collect();
        let (expected, dropped) = fixture.expected(&lost);
        assert_eq!(records, expected, "cut at {cut}");
        assert_eq!(report.messages_without_conversation, dropped);
        assert_eq!(report.truncated_at, Some(cut));
        assert!(!report.is_complete());
        // A frame cut in the middle is named, with its offset.
        if let Some(chunk) = fixture
            .offsets
            .windows(2)
            .position(|pair| pair[0] < cut && cut < pair[1])
        {
            assert!(
                report.lost.iter().any(|lost| lost.chunk == chunk as u64
                    && lost.offset == Some(fixture.offsets[chunk])),
                "cut at {cut}: {:?}",
                report.lost
            );
        }
    }
}

/// Flips one bit at `at`.
fn flip(bytes: &mut [u8], at: u64) {
    bytes[at as usize] ^= 0x10;
}

#[test]
fn one_corrupt_chunk_in_the_middle_is_lost_and_named() {
    let fixture = Fixture::new();
    let chunk = fixture.batches[fixture.batches.len() / 2].0;
    let mut bytes = fixture.bytes.clone();
    flip(&mut bytes, fixture.offsets[chunk as usize] + 18 + 7);
    let (report, records) = fixture.salvage("one", &bytes);
    let lost = HashSet::from([chunk]);
    let (expected, dropped) = fixture.expected(&lost);
    assert_eq!(records, expected);
    assert_eq!(report.messages_without_conversation, dropped);
    assert_eq!(report.lost.len(), 1, "{:?}", report.lost);
    let named = &report.lost[0];
    assert_eq!(named.chunk, chunk);
    assert_eq!(named.offset, Some(fixture.offsets[chunk as usize]));
    // The index survived, so the report says what the chunk held.
    let held = named.held.as_ref().expect("described by the index");
    let original = &fixture.batches.iter().find(|(c, _)| *c == chunk).unwrap().1;
    let messages = original
        .iter()
        .filter(|record| matches!(record, Record::Message(_)))
        .count() as u64;
    assert_eq!(held.messages, messages);
    assert!(!held.conversation_ids.is_empty());
}

#[test]
fn several_corrupt_chunks_and_a_damaged_frame_header_are_lost_and_named() {
    let fixture = Fixture::new();
    let chunks = [
        fixture.batches[0].0,
        fixture.batches[3].0,
        fixture.batches[4].0,
        fixture.batches[fixture.batches.len() - 2].0,
    ];
    let mut bytes = fixture.bytes.clone();
    // A body byte of the first, the frame header of the second (so the
    // scanner must resynchronise byte by byte), and a tag byte of the others.
    flip(&mut bytes, fixture.offsets[chunks[0] as usize] + 20);
    flip(&mut bytes, fixture.offsets[chunks[1] as usize] + 3);
    for &chunk in &chunks[2..] {
        flip(&mut bytes, fixture.offsets[chunk as usize + 1] - 1);
    }
    let (report, records) = fixture.salvage("several", &bytes);
    let lost: HashSet<u64> = chunks.into_iter().collect();
    let (expected, dropped) = fixture.expected(&lost);
    assert_eq!(records, expected);
    assert_eq!(report.messages_without_conversation, dropped);
    let named: HashSet<u64> = report.lost.iter().map(|lost| lost.chunk).collect();
    assert_eq!(named, lost);
    for lost in &report.lost {
        assert_eq!(lost.offset, Some(fixture.offsets[lost.chunk as usize]));
    }
    assert_eq!(report.truncated_at, None);
}

#[test]
fn a_damaged_header_is_a_clear_error_and_writes_nothing() {
    let fixture = Fixture::new();
    let mut bytes = fixture.bytes.clone();
    flip(&mut bytes, 30);
    let damaged = fixture.root.join("header.ksk");
    std::fs::write(&damaged, &bytes).unwrap();
    let out = fixture.root.join("header-salvaged.ksk");
    let outcome = salvage_archive(&damaged, &identities(&fixture.key), Limits::default(), &out);
    assert!(
        matches!(outcome, Err(Error::HeaderCorrupt { .. })),
        "{outcome:?}"
    );
    assert!(!out.exists());
}

mod damage {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn fixture() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(Fixture::new)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Arbitrary damage after the header: salvage succeeds, the new
        /// archive verifies, and every record in it is one of the original's,
        /// in the original's order.
        #[test]
        fn arbitrary_damage_never_yields_a_record_not_in_the_original(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4, 0usize..300), 1..6),
        ) {
            let fixture = fixture();
            let header_end = fixture.offsets[0] as usize;
            let mut bytes = fixture.bytes.clone();
            for (at, value, op, length) in edits {
                if bytes.len() <= header_end {
                    break;
                }
                let at = header_end + at.index(bytes.len() - header_end);
                match op {
                    0 => bytes[at] ^= value.max(1),
                    1 => bytes.truncate(at),
                    2 => {
                        let end = (at + length).min(bytes.len());
                        bytes.drain(at..end);
                    }
                    _ => {
                        bytes.splice(at..at, std::iter::repeat_n(value, length));
                    }
                }
            }
            let name = format!("damage-{:016x}", {
                use std::hash::{Hash, Hasher};
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                bytes.hash(&mut hasher);
                hasher.finish()
            });
            let damaged = fixture.root.join(format!("{name}.ksk"));
            let out = fixture.root.join(format!("{name}-salvaged.ksk"));
            let _ = std::fs::remove_file(&out);
            std::fs::write(&damaged, &bytes).unwrap();
            salvage_archive(&damaged, &identities(&fixture.key), Limits::default(), &out).unwrap();
            let salvaged: Vec<Record> = read_all(&out, &fixture.key)
                .unwrap()
                .into_iter()
                .flat_map(|(_, records)| records)
                .collect();
            // A subsequence of the original records.
            let mut original = fixture.batches.iter().flat_map(|(_, records)| records);
            for record in &salvaged {
                prop_assert!(original.any(|candidate| candidate == record), "{:?}", record);
            }
        }
    }
}

/// The salvaged archive says it is one: salvage is its creator, the salvage
/// time its creation time, and its salvage record (chunk 1) holds the damaged
/// archive's own metadata and what was lost. Dropping the chunk that holds
/// the consent records therefore cannot pass for the original.
#[test]
fn a_salvaged_archive_names_itself_and_what_it_lost() {
    let fixture = Fixture::new();
    let original = keepsake::read_summary(
        std::io::Cursor::new(&fixture.bytes),
        &identities(&fixture.key),
        Limits::default(),
    )
    .unwrap()
    .metadata;
    assert!(original.elements.consent);
    let consent_chunk = fixture
        .batches
        .iter()
        .find(|(_, records)| records.iter().any(|r| matches!(r, Record::Consent(_))))
        .unwrap()
        .0;
    let mut bytes = fixture.bytes.clone();
    flip(&mut bytes, fixture.offsets[consent_chunk as usize] + 18 + 3);
    let before = keepsake::body::records::now_ns();
    let (_, records) = fixture.salvage("consent-dropped", &bytes);
    assert!(records.iter().all(|r| !matches!(r, Record::Consent(_))));

    let out = fixture.root.join("consent-dropped-salvaged.ksk");
    for (what, metadata, record) in [
        {
            let summary = keepsake::read_summary(
                File::open(&out).unwrap(),
                &identities(&fixture.key),
                Limits::default(),
            )
            .unwrap();
            ("summary", summary.metadata, summary.salvage.flatten())
        },
        {
            let mut reader = ArchiveReader::new(
                File::open(&out).unwrap(),
                &identities(&fixture.key),
                Limits::default(),
            )
            .unwrap();
            while reader.next_batch().unwrap().is_some() {}
            let record = reader.salvage_record().flatten().cloned();
            ("full read", reader.metadata().clone(), record)
        },
    ] {
        assert!(
            metadata.creator.ends_with(" salvage"),
            "{what}: {}",
            metadata.creator
        );
        assert!(metadata.created_at_ns >= before, "{what}");
        assert_eq!(metadata.elements, original.elements, "{what}");
        let record = record.unwrap_or_else(|| panic!("{what}: no salvage record"));
        assert_eq!(record.original.as_ref(), Some(&original), "{what}");
        assert_eq!(record.lost_chunks, vec![consent_chunk], "{what}");
        assert_eq!(record.chunks_expected, Some(fixture.offsets.len() as u64));
        assert_eq!(record.chunks_recovered, fixture.offsets.len() as u64 - 1);
        assert!(!record.is_complete(), "{what}");
    }

    // An intact archive salvaged says so too, and loses nothing.
    fixture.salvage("intact-again", &fixture.bytes);
    let summary = keepsake::read_summary(
        File::open(fixture.root.join("intact-again-salvaged.ksk")).unwrap(),
        &identities(&fixture.key),
        Limits::default(),
    )
    .unwrap();
    let record = summary.salvage.flatten().unwrap();
    assert!(record.is_complete(), "{record:?}");
    assert_eq!(record.original, Some(original));
}
