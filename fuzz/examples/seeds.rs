//! Writes the seed corpora of every fuzz target into `DIR/<target>/` (default
//! `corpus/`): valid archives under key [7; 32] from a seeded generator, their
//! headers and frame headers, record batches, chunk descriptions, and every
//! archive (`*.keepsake`) of `../test-vectors/` when that folder exists. Deterministic: running it again
//! rewrites the same files.
//!
//! Run from `fuzz/`: `cargo run --example seeds [DIR]`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use keepsake::body::records::{BatchBuilder, encode_record};
use keepsake::format::{ChunkKind, FLAG_COMPRESSED, FRAME_HEADER_LEN, Header, HeaderLen};
use keepsake::{
    ArchiveMetadata, ArchiveMode, ArchiveWriter, Consent, ConsentEntityType, ConsentState,
    Conversation, ConversationKind, DeliveryStatus, Elements, Message, MessageKind, Record,
    WriterOptions,
};
use keepsake_fuzz::{COMPRESS_HERE, END_WITH_TRAILER, SMALL_LIMITS, check_decode, key};
use rand::SeedableRng;

fn metadata() -> ArchiveMetadata {
    ArchiveMetadata {
        mode: ArchiveMode::Records,
        created_at_ns: 1_700_000_000_000_000_000,
        elements: Elements::default(),
        start_ns: None,
        end_ns: None,
        creator: "keepsake fuzz seeds".into(),
    }
}

fn conversation(n: u8) -> Conversation {
    Conversation {
        id: vec![n, 0xc0],
        kind: if n.is_multiple_of(2) {
            ConversationKind::Group
        } else {
            ConversationKind::Dm
        },
        created_at_ns: 1_600_000_000_000_000_000 + i64::from(n),
        name: Some(format!("conversation {n}")),
        dm_peer: (n % 2 == 1).then(|| "peer".into()),
        added_by: Some("inbox-a".into()),
        member_ids: vec!["inbox-a".into(), "inbox-b".into()],
        metadata: BTreeMap::from([("description".into(), "seed".into())]),
        last_message_ns: Some(1_700_000_000_000_000_000),
    }
}

fn message(conversation: u8, n: u32) -> Message {
    Message {
        id: n.to_le_bytes().to_vec(),
        conversation_id: vec![conversation, 0xc0],
        sender_id: "inbox-a".into(),
        sender_installation_id: vec![0xaa; 8],
        sent_at_ns: 1_650_000_000_000_000_000 + i64::from(n),
        kind: if n.is_multiple_of(7) {
            MessageKind::MembershipChange
        } else {
            MessageKind::Application
        },
        content_type: "xmtp.org/text:1.0".into(),
        content: format!("message {n} says hello").into_bytes(),
        delivery_status: match n % 3 {
            0 => DeliveryStatus::Published,
            1 => DeliveryStatus::Unpublished,
            _ => DeliveryStatus::Failed,
        },
        reference_id: n.is_multiple_of(5).then(|| vec![1, 2, 3]),
        expires_at_ns: n.is_multiple_of(4).then_some(1_800_000_000_000_000_000),
    }
}

fn consent(n: u8) -> Consent {
    Consent {
        entity_type: [
            ConsentEntityType::Conversation,
            ConsentEntityType::Inbox,
            ConsentEntityType::Address,
        ][usize::from(n % 3)],
        entity: format!("entity-{n}"),
        state: [
            ConsentState::Unknown,
            ConsentState::Allowed,
            ConsentState::Denied,
        ][usize::from(n % 3)],
        updated_at_ns: 1_690_000_000_000_000_000 + i64::from(n),
    }
}

/// The named record sets the seed archives hold.
fn record_sets() -> Vec<(&'static str, Vec<Record>)> {
    let mut many = Vec::new();
    for c in 0..4u8 {
        many.push(Record::Conversation(conversation(c)));
        for m in 0..60u32 {
            many.push(Record::Message(message(c, u32::from(c) * 1000 + m)));
        }
    }
    many.extend((0..20).map(|n| Record::Consent(consent(n))));
    vec![
        ("empty", Vec::new()),
        ("conversation", vec![Record::Conversation(conversation(1))]),
        (
            "message",
            vec![
                Record::Conversation(conversation(2)),
                Record::Message(message(2, 1)),
            ],
        ),
        ("consent", vec![Record::Consent(consent(4))]),
        ("multi-chunk", many),
    ]
}

fn write_archive(records: &[Record], chunk_size: u32, seed: u64) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let options = WriterOptions {
        chunk_size,
        level: 3,
        threads: 1,
        signing_key: None,
    };
    let mut writer =
        ArchiveWriter::with_rng(Vec::new(), &[&key()], &metadata(), &options, &mut rng)
            .expect("start a seed archive");
    for record in records {
        writer.write_record(record).expect("write a seed record");
    }
    writer.finish().expect("finish a seed archive").0
}

/// The header's length and every frame header with its expected index.
fn split(archive: &[u8]) -> (usize, Vec<[u8; FRAME_HEADER_LEN]>) {
    let Ok(HeaderLen::Exactly(header_len)) = Header::measure(archive) else {
        panic!("a seed archive's header does not measure");
    };
    let mut frames = Vec::new();
    let mut at = header_len;
    while at < archive.len() {
        let frame: [u8; FRAME_HEADER_LEN] = archive[at..at + FRAME_HEADER_LEN]
            .try_into()
            .expect("a whole frame header");
        let stored_len = u32::from_le_bytes(frame[2..6].try_into().expect("four bytes"));
        frames.push(frame);
        at += FRAME_HEADER_LEN + stored_len as usize;
    }
    (header_len, frames)
}

/// A record batch body holding `records`.
fn batch(records: &[Record]) -> Vec<u8> {
    let mut batch = BatchBuilder::new();
    for record in records {
        batch.push_encoded(&encode_record(record).expect("encode a seed record"));
    }
    batch.take()
}

/// A chunk description entry (see `keepsake_fuzz::seal_description`).
fn entry(kind: ChunkKind, flags: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(body.len()).expect("a description body under 64 KiB");
    [&[kind.0, flags][..], &len.to_le_bytes(), body].concat()
}

struct Corpus {
    root: PathBuf,
    written: usize,
}

impl Corpus {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).expect("create a corpus directory");
        fs::write(dir.join(format!("seed-{name}")), bytes).expect("write a seed");
        self.written += 1;
    }
}

fn main() {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    let mut corpus = Corpus { root, written: 0 };
    let postcard_metadata = postcard::to_allocvec(&metadata()).expect("encode metadata");

    for (seed, (name, records)) in record_sets().into_iter().enumerate() {
        let chunk_size = if name == "multi-chunk" { 4096 } else { 1 << 16 };
        let archive = write_archive(&records, chunk_size, seed as u64);
        assert_eq!(
            check_decode(&archive).error,
            None,
            "seed archive {name} decodes"
        );
        for target in ["decode", "import"] {
            corpus.put(target, name, &archive);
        }
        // The seek index: the archive through it (odd mode) and its body (even mode).
        corpus.put("seek_index", name, &[&[1u8][..], &archive].concat());
        let seekable = keepsake::SeekableArchive::open(
            std::io::Cursor::new(&archive),
            &keepsake_fuzz::identities(),
            keepsake::Limits::default(),
        )
        .expect("a seed archive opens through its index");
        let index = seekable.index().expect("a seed archive has an index");
        let body = index.to_bytes().expect("an index encodes");
        corpus.put(
            "seek_index",
            &format!("{name}-body"),
            &[&[0u8, 255][..], &body].concat(),
        );
        let (header_len, frames) = split(&archive);
        corpus.put("header", name, &archive[..header_len]);
        for (index, frame) in frames.iter().enumerate() {
            // Both with the index the frame states and with another.
            corpus.put("frame_header", &format!("{name}-{index}"), frame);
            let other = [
                &frame[..],
                &(index as u64 + 1).to_le_bytes(),
                &4096u32.to_le_bytes(),
            ]
            .concat();
            corpus.put("frame_header", &format!("{name}-{index}-moved"), &other);
        }

        // The same content as a chunk description, for the targets that seal.
        let mut description = vec![END_WITH_TRAILER];
        description.extend(entry(ChunkKind::METADATA, 0, &postcard_metadata));
        let mut batches = Vec::new();
        for group in records.chunks(30) {
            let body = batch(group);
            // No limit, then a decoded-size limit this batch is over.
            for (suffix, decoded_limit) in [("", u32::MAX), ("-over", 4096)] {
                corpus.put(
                    "record_batch",
                    &format!("{name}-{}{suffix}", batches.len()),
                    &[
                        &u32::MAX.to_le_bytes()[..],
                        &decoded_limit.to_le_bytes(),
                        &body,
                    ]
                    .concat(),
                );
            }
            batches.push(body);
        }
        for (index, body) in batches.iter().enumerate() {
            let flags = if index % 2 == 0 { COMPRESS_HERE } else { 0 };
            description.extend(entry(ChunkKind::RECORDS, flags, body));
        }
        let archive = keepsake_fuzz::seal_description(&description);
        assert_eq!(
            check_decode(&archive).error,
            None,
            "the sealed description of {name} decodes"
        );
        for target in ["sealed", "import"] {
            corpus.put(target, &format!("{name}-description"), &description);
        }
    }

    // Descriptions of what writers do not write: an ignorable chunk, an
    // unknown critical one, small limits, a compressed flag on a plain body,
    // no trailer.
    let records = batch(&[Record::Consent(consent(9))]);
    let unusual = [
        (
            "ignorable",
            END_WITH_TRAILER,
            vec![
                entry(ChunkKind::METADATA, 0, &postcard_metadata),
                entry(ChunkKind(0x9f), 0, b"future extension"),
                entry(ChunkKind::INDEX, COMPRESS_HERE, &[0; 64]),
                entry(ChunkKind::RECORDS, 0, &records),
            ],
        ),
        (
            "critical",
            END_WITH_TRAILER,
            vec![
                entry(ChunkKind::METADATA, 0, &postcard_metadata),
                entry(ChunkKind(0x1f), 0, b"future critical"),
            ],
        ),
        (
            "small-limits",
            END_WITH_TRAILER | SMALL_LIMITS,
            vec![
                entry(ChunkKind::METADATA, COMPRESS_HERE, &postcard_metadata),
                entry(ChunkKind::RECORDS, COMPRESS_HERE, &records),
            ],
        ),
        (
            "not-compressed",
            END_WITH_TRAILER,
            vec![
                entry(ChunkKind::METADATA, 0, &postcard_metadata),
                entry(ChunkKind::RECORDS, FLAG_COMPRESSED, &records),
            ],
        ),
        (
            "no-trailer",
            0,
            vec![entry(ChunkKind::METADATA, 0, &postcard_metadata)],
        ),
    ];
    for (name, options, entries) in unusual {
        let description = [vec![options], entries.concat()].concat();
        for target in ["sealed", "import"] {
            corpus.put(target, name, &description);
        }
    }

    // Page mode: the test vectors' hand-built database as page batches, for
    // the page_batch target and as a sealed pages archive.
    let pages = keepsake_vectors::pages::database_pages();
    let page_size = keepsake_vectors::pages::PAGE_SIZE;
    let database_pages = keepsake_vectors::pages::DATABASE_PAGES;
    let batch_of = |numbers: &[u32]| {
        keepsake::body::pages::encode_batch(&keepsake::body::pages::PageBatch {
            page_size,
            database_pages,
            pages: numbers
                .iter()
                .map(|&number| keepsake::body::pages::Page {
                    number,
                    data: pages[number as usize - 1].clone(),
                })
                .collect(),
        })
        .expect("a valid page batch")
    };
    let (first, second) = (batch_of(&[1, 2]), batch_of(&[3]));
    corpus.put("page_batch", "pages-1-2", &first);
    corpus.put("page_batch", "pages-3", &second);
    corpus.put("page_batch", "pages-all", &batch_of(&[1, 2, 3, 4]));
    let pages_metadata = postcard::to_allocvec(&ArchiveMetadata {
        mode: ArchiveMode::Pages,
        ..metadata()
    })
    .expect("encode metadata");
    let description = [
        vec![END_WITH_TRAILER],
        entry(ChunkKind::METADATA, 0, &pages_metadata),
        entry(ChunkKind::PAGES, COMPRESS_HERE, &first),
        entry(ChunkKind::PAGES, 0, &second),
    ]
    .concat();
    assert_eq!(
        check_decode(&keepsake_fuzz::seal_description(&description)).error,
        None,
        "the sealed pages description decodes"
    );
    for target in ["sealed", "import"] {
        corpus.put(target, "pages", &description);
    }

    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors");
    if let Ok(entries) = fs::read_dir(&vectors) {
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "keepsake"))
            .collect();
        files.sort();
        for path in files {
            let bytes = fs::read(&path).expect("read a test vector");
            let name = format!(
                "vector-{}",
                path.file_name().expect("a file name").to_string_lossy()
            );
            for target in ["decode", "import", "header"] {
                corpus.put(target, &name, &bytes);
            }
        }
    }
    // Reseal: the base archives as they are, and an edit of each kind,
    // among them the amplifications the decoded-size limit is for.
    use keepsake_fuzz::plaintext::Edit;
    let reseal: [(&str, u8, Vec<Edit>); 14] = [
        ("base", 0, vec![]),
        ("base-3", 3, vec![]),
        ("base-stored", 9, vec![]),
        (
            "members-over-limit",
            1,
            vec![Edit::Members {
                chunk: 0,
                record: 0,
                len: 0,
                count: 600_000,
            }],
        ),
        (
            "members-under-limit",
            1,
            vec![Edit::Members {
                chunk: 0,
                record: 0,
                len: 1,
                count: 440_000,
            }],
        ),
        (
            "metadata-large",
            2,
            vec![Edit::Metadata {
                chunk: 0,
                record: 1,
                len: 0,
                count: 300_000,
            }],
        ),
        (
            "repeat",
            2,
            vec![Edit::Repeat {
                chunk: 1,
                record: 3,
                times: 4000,
            }],
        ),
        (
            "move",
            3,
            vec![Edit::Move {
                chunk: 1,
                record: 2,
                to: 0,
            }],
        ),
        (
            "split-swap",
            3,
            vec![
                Edit::Split {
                    chunk: 0,
                    record: 5,
                },
                Edit::Swap { chunk: 1, other: 2 },
            ],
        ),
        (
            "flip",
            1,
            vec![Edit::Flip {
                chunk: 0,
                record: 2,
                value: 0x40,
                at: 7,
            }],
        ),
        (
            "index-ids",
            2,
            vec![Edit::IndexIds {
                len: 0,
                count: 600_000,
            }],
        ),
        (
            "index-entries",
            2,
            vec![Edit::IndexEntries { count: 200_000 }],
        ),
        (
            "index-elements",
            2,
            vec![Edit::IndexElements {
                entry: 1,
                count: 100_000,
            }],
        ),
        (
            "kind-drop",
            3,
            vec![
                Edit::Kind {
                    chunk: 2,
                    kind: 0x81,
                },
                Edit::Drop { chunk: 1 },
            ],
        ),
    ];
    for (name, base, edits) in reseal {
        let input: Vec<u8> = std::iter::once(base)
            .chain(edits.into_iter().flat_map(Edit::to_bytes))
            .collect();
        // The seeds reach what they are named for.
        let (_, archive) = keepsake_fuzz::plaintext::reseal(&input);
        let error = check_decode(&archive).error.unwrap_or_default();
        let expected = match name {
            "members-over-limit" | "metadata-large" => "DecodedSize",
            "move" => "Corrupt",
            _ if name.starts_with("base") || name.starts_with("index") => "",
            _ => continue,
        };
        assert!(
            error.contains(expected) && (expected.is_empty() == error.is_empty()),
            "reseal seed {name}: {error}"
        );
        if name.starts_with("index") {
            let seek = keepsake::SeekableArchive::open(
                std::io::Cursor::new(&archive),
                &keepsake_fuzz::identities(),
                keepsake::Limits::default(),
            );
            let over = matches!(
                seek,
                Err(keepsake::Error::LimitExceeded {
                    what: keepsake::Limit::DecodedSize,
                    ..
                })
            );
            assert_eq!(
                over,
                name != "index-elements",
                "reseal seed {name}: {seek:?}"
            );
        }
        corpus.put("reseal", name, &input);
    }

    // Salvage: no damage, a flipped byte, a cut, a removed stretch, an insertion.
    let op = |kind: u8, at: u32, value: u8, length: u8| {
        [&[kind][..], &at.to_le_bytes(), &[value, length]].concat()
    };
    for (name, ops) in [
        ("none", Vec::new()),
        ("flip", op(0, 2000, 0x40, 0)),
        ("cut", op(1, 5000, 0, 0)),
        ("remove", op(2, 3000, 0, 200)),
        ("insert", op(3, 4000, 0xAA, 100)),
        (
            "several",
            [op(0, 1500, 1, 0), op(2, 6000, 0, 50), op(1, 9000, 0, 0)].concat(),
        ),
    ] {
        corpus.put("salvage", name, &ops);
    }
    println!(
        "wrote {} seeds under {}",
        corpus.written,
        corpus.root.display()
    );
}
