//! The published test vectors: the committed files are exactly what the
//! generator writes, and every vector reads as the manifest says through
//! every reading path: the streaming reader over the whole buffer, the
//! sans-I/O decoder fed one byte at a time, the summary of a seekable file,
//! and the committed files consumed the way another implementation would.

use std::collections::BTreeSet;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use keepsake::body::salvage_record::SalvageRecord;
use keepsake::format::{ChunkKind, Trailer};
use keepsake::json::Json;
use keepsake::stream::decoder::HeaderInfo;
use keepsake::{
    ArchiveKey, ArchiveMetadata, ArchiveMode, ArchiveReader, Decoder, Error, Event, Identity, Item,
    Limit, Limits, Passphrase, Record, SeekableArchive, X25519Identity, read_summary,
};
use keepsake_vectors::{self, HeaderError, Outcome, Vector};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn catalogue() -> &'static [Vector] {
    static VECTORS: OnceLock<Vec<Vector>> = OnceLock::new();
    VECTORS.get_or_init(keepsake_vectors::all)
}

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors")
}

const REGENERATE: &str =
    "run `cargo run --example generate-vectors -- test-vectors` and commit the result";

/// What one reading path saw: the records released before the end, and how it ended.
#[derive(Debug, PartialEq)]
struct Reading {
    released: Vec<Record>,
    outcome: Outcome,
    /// Header facts, metadata and trailer, when the path reached them.
    header: Option<HeaderInfo>,
    metadata: Option<ArchiveMetadata>,
    trailer: Option<Trailer>,
    /// The salvage record at chunk 1, once read (spec §6.7).
    salvage: Option<Option<SalvageRecord>>,
}

impl Reading {
    fn new() -> Reading {
        Reading {
            released: Vec::new(),
            outcome: Outcome::Success,
            header: None,
            metadata: None,
            trailer: None,
            salvage: None,
        }
    }

    fn end(mut self, result: Result<(), Error>) -> Reading {
        if let Err(error) = result {
            self.outcome = Outcome::of_error(&error)
                .unwrap_or_else(|| panic!("an error outside the vector vocabulary: {error:?}"));
        }
        self
    }
}

fn identities(vector: &Vector) -> Vec<Identity> {
    vector.identities()
}

/// The streaming reader over the whole buffer, opening chunks on `threads`
/// threads.
fn read_whole(vector: &Vector, threads: usize) -> Reading {
    let mut reading = Reading::new();
    let result = (|| {
        let mut reader = ArchiveReader::with_threads(
            &vector.bytes[..],
            &identities(vector),
            keepsake_vectors::reader_limits(),
            threads,
        )?;
        reading.header = Some(reader.header().clone());
        reading.metadata = Some(reader.metadata().clone());
        while let Some(item) = reader.next_item()? {
            if let Item::Records(batch) = item {
                reading.released.extend(batch);
            }
        }
        reading.trailer = reader.trailer().cloned();
        reading.salvage = reader.salvage_record().map(|record| record.cloned());
        Ok(())
    })();
    reading.end(result)
}

/// The sans-I/O decoder fed one byte at a time.
fn read_byte_by_byte(vector: &Vector) -> Reading {
    let mut reading = Reading::new();
    let mut decoder = Decoder::new(&identities(vector), keepsake_vectors::reader_limits());
    let result = (|| {
        for byte in vector.bytes.chunks(1) {
            let mut input = byte;
            while !input.is_empty() {
                let (used, event) = decoder.feed(input)?;
                assert!(
                    used > 0 || event.is_some(),
                    "{}: the decoder made no progress",
                    vector.name
                );
                input = &input[used..];
                match event {
                    Some(Event::Header(info)) => reading.header = Some(info),
                    Some(Event::Metadata(metadata)) => reading.metadata = Some(metadata),
                    Some(Event::Records { records, .. }) => reading.released.extend(records),
                    Some(Event::End(trailer)) => reading.trailer = Some(trailer),
                    Some(Event::Salvaged { record }) => reading.salvage = Some(record),
                    _ => {}
                }
            }
        }
        decoder.finish()
    })();
    reading.end(result)
}

/// The streaming reader that checks records without building them, as
/// verify reads: what it saw, and how many records it passed.
fn read_checking_only(vector: &Vector) -> (Reading, usize) {
    let mut reading = Reading::new();
    let mut checked = 0;
    let result = (|| {
        let mut reader = ArchiveReader::checking_only(
            &vector.bytes[..],
            &identities(vector),
            keepsake_vectors::reader_limits(),
        )?;
        reading.header = Some(reader.header().clone());
        reading.metadata = Some(reader.metadata().clone());
        while let Some(records) = reader.check_next()? {
            checked += records as usize;
        }
        reading.trailer = reader.trailer().cloned();
        reading.salvage = reader.salvage_record().map(|record| record.cloned());
        Ok(())
    })();
    (reading.end(result), checked)
}

/// Checks what a reading path saw against the vector's expectations.
fn check(vector: &Vector, path: &str, reading: &Reading) {
    let name = &vector.name;
    assert_eq!(reading.outcome, vector.outcome, "{name} ({path}): outcome");
    assert!(
        reading.released == vector.released,
        "{name} ({path}): released {} records, expected {}",
        reading.released.len(),
        vector.released.len()
    );
    if let Some(expected) = &vector.expected {
        let header = reading
            .header
            .as_ref()
            .expect("a successful read has a header");
        assert_eq!(
            header.key_slots, expected.header.key_slots,
            "{name} ({path})"
        );
        assert_eq!(
            (
                header.prelude.max_chunk_size,
                header.prelude.max_record_size
            ),
            (
                expected.header.max_chunk_size,
                expected.header.max_record_size
            ),
            "{name} ({path})"
        );
        assert_eq!(
            reading.metadata.as_ref(),
            Some(&expected.metadata),
            "{name} ({path})"
        );
        assert_eq!(
            reading.trailer.as_ref(),
            Some(&expected.trailer),
            "{name} ({path})"
        );
        assert_eq!(reading.salvage, vector.salvage, "{name} ({path}): salvage");
    }
}

#[test]
fn the_committed_vectors_are_what_the_generator_writes() {
    let fresh = tempfile::tempdir().unwrap();
    keepsake_vectors::publish(catalogue(), fresh.path()).unwrap();
    let listing = |dir: &Path| -> BTreeSet<String> {
        fs::read_dir(dir)
            .unwrap_or_else(|error| panic!("{}: {error}; {REGENERATE}", dir.display()))
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name != "README.md")
            .collect()
    };
    let committed = listing(&committed_dir());
    let generated = listing(fresh.path());
    let mut problems = Vec::new();
    for name in generated.difference(&committed) {
        problems.push(format!("missing from test-vectors/: {name}"));
    }
    for name in committed.difference(&generated) {
        problems.push(format!(
            "not generated (delete it or add its vector): {name}"
        ));
    }
    for name in generated.intersection(&committed) {
        let old = fs::read(committed_dir().join(name)).unwrap();
        let new = fs::read(fresh.path().join(name)).unwrap();
        if old != new {
            let at = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
            problems.push(format!("{name} differs from byte {at}"));
        }
    }
    assert!(problems.is_empty(), "{}\n{REGENERATE}", problems.join("\n"));
    assert!(
        committed.contains("manifest.json") && committed_dir().join("README.md").is_file(),
        "test-vectors/ needs its manifest and README"
    );
}

#[test]
fn every_vector_reads_as_expected_from_a_whole_buffer() {
    for vector in catalogue() {
        check(vector, "whole buffer", &read_whole(vector, 1));
        check(vector, "whole buffer, four threads", &read_whole(vector, 4));
    }
}

#[test]
fn every_vector_reads_as_expected_one_byte_at_a_time() {
    for vector in catalogue() {
        check(vector, "one byte at a time", &read_byte_by_byte(vector));
    }
}

#[test]
fn every_vector_checks_as_it_reads_without_building_records() {
    for vector in catalogue() {
        let (mut reading, checked) = read_checking_only(vector);
        // A pages archive's batches count pages, which no vector lists.
        let pages = reading
            .metadata
            .as_ref()
            .is_some_and(|metadata| metadata.mode == ArchiveMode::Pages);
        assert_eq!(
            if pages { 0 } else { checked },
            vector.released.len(),
            "{}: records passed before the end",
            vector.name
        );
        // The records themselves were never built; the rest must match.
        reading.released = vector.released.clone();
        check(vector, "checking only", &reading);
    }
}

#[test]
fn every_success_vector_summarises_to_its_trailer() {
    for vector in catalogue() {
        let Some(expected) = &vector.expected else {
            continue;
        };
        let summary = read_summary(
            Cursor::new(&vector.bytes),
            &identities(vector),
            keepsake_vectors::reader_limits(),
        )
        .unwrap_or_else(|error| panic!("{}: {error}", vector.name));
        assert_eq!(
            summary.trailer.as_ref(),
            Some(&expected.trailer),
            "{}",
            vector.name
        );
        assert_eq!(summary.metadata, expected.metadata, "{}", vector.name);
        if let Some(status) = vector.signature {
            assert_eq!(summary.signature, status, "{}", vector.name);
        }
        assert_eq!(summary.salvage, vector.salvage, "{}: salvage", vector.name);
        assert_eq!(
            summary.key_slots, expected.header.key_slots,
            "{}",
            vector.name
        );
        assert_eq!(
            summary.archive_bytes,
            vector.bytes.len() as u64,
            "{}",
            vector.name
        );
    }
}

/// Opens a vector through its seek index and reads every record batch
/// through it, in chunk order (spec §6.5.4); the records it yields.
fn read_through_index(vector: &Vector) -> Result<Vec<Record>, Error> {
    let mut archive = SeekableArchive::open(
        Cursor::new(&vector.bytes),
        &identities(vector),
        keepsake_vectors::reader_limits(),
    )?;
    let index = archive
        .index()
        .cloned()
        .ok_or_else(|| Error::InvalidInput {
            reason: "no index".into(),
        })?;
    let mut records = Vec::new();
    for (chunk, entry) in index.chunks.iter().enumerate() {
        if entry.kind == ChunkKind::RECORDS.0 {
            records.extend(archive.read_chunk(chunk as u64)?);
        }
    }
    Ok(records)
}

#[test]
fn every_seek_index_vector_reads_through_the_index_as_expected() {
    let mut seen = 0;
    for vector in catalogue() {
        let Some(expected) = vector.seek else {
            continue;
        };
        seen += 1;
        match read_through_index(vector) {
            Ok(records) => {
                assert_eq!(expected, Outcome::Success, "{}", vector.name);
                assert_eq!(records, vector.released, "{}", vector.name);
            }
            Err(error) => assert_eq!(
                Outcome::of_error(&error),
                Some(expected),
                "{}: {error}",
                vector.name
            ),
        }
    }
    assert!(seen >= 4, "{seen} seek-index vectors");
}

#[test]
fn the_vectors_cover_the_whole_vocabulary_within_budget() {
    let vectors = catalogue();
    assert!(vectors.len() >= 80, "{} vectors", vectors.len());
    let words: BTreeSet<&str> = vectors.iter().map(|v| v.outcome.word()).collect();
    for word in [
        "success",
        "wrong_key",
        "header_failure",
        "chunk_failure",
        "truncated",
        "trailing_data",
        "unsupported_version",
        "limit_exceeded",
        "critical_unknown_chunk",
    ] {
        assert!(words.contains(word), "no vector with outcome {word}");
    }
    for error in [
        HeaderError::NotAnArchive,
        HeaderError::HeaderCorrupt,
        HeaderError::NoSupportedSlot,
        HeaderError::UnsupportedSuite(2),
    ] {
        assert!(
            vectors
                .iter()
                .any(|v| v.outcome == Outcome::HeaderFailure(error)),
            "no header failure {error:?}"
        );
    }
    let total: usize = keepsake_vectors::files(vectors)
        .iter()
        .map(|(_, bytes)| bytes.len())
        .sum();
    assert!(total < 5 << 20, "test-vectors/ would hold {total} bytes");
}

#[test]
fn a_header_over_the_default_limit_reads_under_a_raised_limit() {
    // The vector's one defect is the declared size: raise the reader's limit
    // and it reads.
    let vector = catalogue()
        .iter()
        .find(|v| v.name == "max-chunk-size-over-reader-limit")
        .unwrap();
    let raised = Limits::for_chunk_size((64 << 20) + 1);
    let mut reader = ArchiveReader::new(&vector.bytes[..], &identities(vector), raised).unwrap();
    let mut records = Vec::new();
    while let Some(batch) = reader.next_batch().unwrap() {
        records.extend(batch);
    }
    assert!(!records.is_empty());
}

/// The manifest fields that state `outcome`, as `test-vectors/README.md` defines them.
fn outcome_fields(outcome: &Outcome) -> Vec<(&'static str, Value)> {
    match *outcome {
        Outcome::Success | Outcome::WrongKey => vec![],
        Outcome::HeaderFailure(error) => match error {
            HeaderError::NotAnArchive => vec![("error", "not_an_archive".into())],
            HeaderError::HeaderCorrupt => vec![("error", "header_corrupt".into())],
            HeaderError::NoSupportedSlot => vec![("error", "no_supported_slot".into())],
            HeaderError::UnsupportedSuite(suite) => {
                vec![
                    ("error", "unsupported_suite".into()),
                    ("suite", suite.into()),
                ]
            }
        },
        Outcome::ChunkFailure { chunk } => vec![("chunk", chunk.into())],
        Outcome::Truncated { offset } | Outcome::TrailingData { offset } => {
            vec![("offset", offset.into())]
        }
        Outcome::UnsupportedVersion { version } => vec![("version", version.into())],
        Outcome::LimitExceeded { limit } => vec![(
            "limit",
            match limit {
                Limit::ChunkSize => "chunk_size",
                Limit::RecordSize => "record_size",
                Limit::DecodedSize => "decoded_size",
                Limit::Argon2Memory => "argon2_memory",
                Limit::Argon2Passes => "argon2_passes",
                Limit::Argon2Lanes => "argon2_lanes",
                Limit::PassphraseSlots => "passphrase_slots",
                other => panic!("a limit without a manifest word: {other:?}"),
            }
            .into(),
        )],
        Outcome::CriticalUnknownChunk { chunk, kind } => {
            vec![("chunk", chunk.into()), ("kind", kind.into())]
        }
    }
}

/// Follows `test-vectors/README.md` step by step, as an implementation in
/// another language would, with the Rust streaming reader as the reader.
#[test]
fn the_committed_manifest_describes_the_committed_files() {
    let dir = committed_dir();
    let manifest: Value =
        serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], "keepsake-test-vectors");
    let limits = keepsake_vectors::reader_limits();
    assert_eq!(
        manifest["reader_limits"]["max_chunk_size"],
        limits.max_chunk_size
    );
    assert_eq!(
        manifest["reader_limits"]["max_record_size"],
        limits.max_record_size
    );
    assert_eq!(
        manifest["reader_limits"]["max_decoded_size"],
        limits.max_decoded_size
    );
    let entries = manifest["vectors"].as_array().unwrap();
    assert_eq!(entries.len(), catalogue().len());
    for entry in entries {
        let name = entry["name"].as_str().unwrap();
        let bytes = fs::read(dir.join(entry["file"].as_str().unwrap())).unwrap();
        assert_eq!(
            entry["file_sha256"].as_str().unwrap(),
            keepsake_vectors::hex(&Sha256::digest(&bytes)),
            "{name}"
        );
        let identity: Identity = if let Some(key) = entry["key"].as_str() {
            ArchiveKey::from_hex(key).unwrap().into()
        } else if let Some(passphrase) = entry["passphrase"].as_str() {
            Passphrase::new(passphrase).unwrap().into()
        } else {
            X25519Identity::from_text(entry["identity"].as_str().unwrap())
                .unwrap()
                .into()
        };

        let mut released = Vec::new();
        let mut facts = None;
        let mut salvage = None;
        let result = (|| {
            let mut reader =
                ArchiveReader::new(&bytes[..], &[identity], keepsake_vectors::reader_limits())?;
            let header = reader.header().clone();
            let metadata = reader.metadata().clone();
            while let Some(item) = reader.next_item()? {
                if let Item::Records(batch) = item {
                    released.extend(batch);
                }
            }
            facts = Some((header, metadata, reader.trailer().cloned().unwrap()));
            salvage = reader.salvage_record().map(|record| record.cloned());
            Ok::<_, Error>(())
        })();
        let outcome = match &result {
            Ok(()) => Outcome::Success,
            Err(error) => Outcome::of_error(error).unwrap(),
        };
        assert_eq!(entry["outcome"], outcome.word(), "{name}: {result:?}");
        for (field, value) in outcome_fields(&outcome) {
            assert_eq!(entry[field], value, "{name}: {field}");
        }
        assert_eq!(entry["released_records"], released.len(), "{name}");
        assert_eq!(
            entry["released_records_sha256"].as_str().unwrap(),
            keepsake_vectors::hex(&keepsake_vectors::records_sha256(&released)),
            "{name}"
        );
        if let Some(file) = entry.get("records_file").and_then(Value::as_str) {
            let expected: Value =
                serde_json::from_slice(&fs::read(dir.join(file)).unwrap()).unwrap();
            let found: Vec<Json<&Record>> = released.iter().map(Json).collect();
            assert_eq!(
                serde_json::to_value(found).unwrap(),
                expected,
                "{name}: records"
            );
        }
        if let Some((header, _, trailer)) = &facts
            && let Some(expected) = entry.get("signature")
        {
            let status = header.signature_status(trailer);
            assert_eq!(expected["status"], status.word(), "{name}: signature");
            assert_eq!(
                expected["scheme"],
                status.scheme(),
                "{name}: signature scheme"
            );
            assert_eq!(
                expected.get("signer").and_then(Value::as_str),
                status.signer().map(|signer| signer.to_string()).as_deref(),
                "{name}: signer"
            );
        }
        assert_eq!(
            entry.get("salvage_record").map(|json| json.to_string()),
            salvage.as_ref().map(|record| {
                serde_json::to_value(keepsake_vectors::SalvageRecordJson::of(record.as_ref()))
                    .unwrap()
                    .to_string()
            }),
            "{name}: salvage record"
        );
        if let Some((header, metadata, trailer)) = facts {
            assert_eq!(entry["header"]["key_slots"], header.key_slots, "{name}");
            assert_eq!(
                entry["header"]["max_chunk_size"],
                header.prelude.max_chunk_size
            );
            assert_eq!(
                entry["header"]["max_record_size"],
                header.prelude.max_record_size
            );
            assert_eq!(
                entry["metadata"],
                serde_json::to_value(Json(&metadata)).unwrap(),
                "{name}: metadata"
            );
            assert_eq!(
                entry["trailer"],
                serde_json::to_value(Json(&trailer)).unwrap(),
                "{name}: trailer"
            );
        }
    }
}
