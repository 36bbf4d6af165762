//! Peak memory of `keepsake verify` and `keepsake import` on the decoded-size
//! vectors (spec §6.3.1), as the process's own high-water mark (`VmHWM`, which
//! `keepsake bench-step` prints as it finishes, whether it failed or not),
//! against the bound spec §9 promises, worked out from the reader's limits.

use std::path::{Path, PathBuf};
use std::process::Command;

use keepsake::body::records::{Conversation, ConversationKind, Message, MessageKind, Record};
use keepsake::{ArchiveKey, ArchiveMetadata, ArchiveWriter, Limits, WriterOptions};
use serde_json::Value;

const MIB: u64 = 1 << 20;

fn vector(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test-vectors")
        .join(format!("{name}.keepsake"))
}

/// The peak resident memory of `keepsake bench-step STEP ARCHIVE [DB] KEY`,
/// and whether the step succeeded, or `None` where `/proc` does not tell.
fn peak(step: &str, archive: &Path, dir: &Path) -> Option<(bool, u64)> {
    peak_with(step, archive, dir, &[])
}

/// As [`peak`], with more arguments for the step.
fn peak_with(step: &str, archive: &Path, dir: &Path, more: &[&str]) -> Option<(bool, u64)> {
    let key = dir.join("vectors.key");
    std::fs::write(&key, keepsake_vectors::hex(&keepsake_vectors::KEY)).unwrap();
    let db = dir.join(format!("{}.db", archive.file_stem()?.to_str()?));
    let _ = std::fs::remove_file(&db);
    let mut command = Command::new(env!("CARGO_BIN_EXE_keepsake"));
    command.arg("bench-step").arg(step).arg(archive);
    if step == "import" {
        command.arg(&db);
    }
    let output = command.arg(&key).args(more).output().unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "bench-step printed no report ({error}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(report["ok"], output.status.success(), "{report}");
    Some((output.status.success(), report["peak_rss_bytes"].as_u64()?))
}

/// What spec §9 lets a reader with default limits hold beyond what the same
/// command needs for an empty archive, for an archive of chunks of at most
/// `chunk` bytes: the frames read ahead (the read-ahead budget, plus the one
/// frame read while the budget is full: its stored bytes), the frame handed
/// over (stored bytes and body), a zstd window per worker thread; and, for an
/// import, the one batch built (at most 2.3 times its decoded size, §6.3.1)
/// and what the SQLite adapter holds for one record: the JSON text of its
/// lists and SQLite's copy of it (each within twice the entry, itself within
/// a chunk), and SQLite's page cache (2 MiB by default).
fn allowance(chunk: u64, import: bool) -> u64 {
    let limits = Limits::default();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let frames = limits.read_ahead + (chunk + 34) + 2 * chunk + threads * chunk;
    let building = limits.max_decoded_size * 23 / 10 + 4 * chunk + 2 * MIB;
    frames + if import { building } else { 0 }
}

#[test]
fn verify_and_import_stay_within_the_memory_spec_9_promises() {
    let dir = tempfile::tempdir().unwrap();
    let chunk = u64::from(keepsake::stream::writer::DEFAULT_CHUNK_SIZE);
    for step in ["verify", "import"] {
        let Some((true, baseline)) = peak(step, &vector("empty"), dir.path()) else {
            eprintln!("no peak memory from /proc here: nothing to measure");
            return;
        };
        let bound = baseline + allowance(chunk, step == "import");
        for (name, succeeds) in [
            ("decoded-size-at-limit-in-every-batch", true),
            ("decoded-size-at-limit", true),
            ("decoded-size-over-limit", false),
            ("decoded-size-over-limit-in-sum", false),
        ] {
            let (ok, peak) = peak(step, &vector(name), dir.path()).unwrap();
            assert_eq!(ok, succeeds, "{step} {name}");
            assert!(
                peak <= bound,
                "{step} {name}: peak {:.1} MiB over the {:.1} MiB of spec §9 ({:.1} MiB for an empty archive)",
                peak as f64 / MIB as f64,
                bound as f64 / MIB as f64,
                baseline as f64 / MIB as f64,
            );
        }
    }
}

/// A conversation record whose member list holds `members` empty ids.
fn crowded(id: &[u8], members: usize) -> Record {
    Record::Conversation(Conversation {
        id: id.to_vec(),
        kind: ConversationKind::Group,
        created_at_ns: 0,
        name: None,
        dm_peer: None,
        added_by: None,
        member_ids: vec![String::new(); members],
        metadata: Default::default(),
        last_message_ns: None,
    })
}

/// An archive a default writer writes, seek index included, whose batches
/// are each one conversation with half a million empty member ids (a decoded
/// size just under the 16 MiB budget) and a message of it.
fn crowded_indexed_archive(path: &Path) {
    let key = ArchiveKey::from_bytes(keepsake_vectors::KEY);
    let options = WriterOptions::default();
    let sink = std::fs::File::create(path).unwrap();
    let mut writer = ArchiveWriter::new(sink, &[&key], &ArchiveMetadata::now(), &options).unwrap();
    for n in 0..6u8 {
        let id = [b'c', n];
        writer.write_record(&crowded(&id, 500_000)).unwrap();
        writer
            .write_record(&Record::Message(Message {
                id: vec![b'm', n],
                conversation_id: id.to_vec(),
                sender_id: String::new(),
                sender_installation_id: Vec::new(),
                sent_at_ns: i64::from(n),
                kind: MessageKind::Application,
                content_type: String::new(),
                content: Vec::new(),
                delivery_status: keepsake::body::records::DeliveryStatus::Published,
                reference_id: None,
                expires_at_ns: None,
            }))
            .unwrap();
    }
    let (_, trailer) = writer.finish().unwrap();
    assert_ne!(trailer.index_chunk, 0, "the archive has a seek index");
}

#[test]
fn a_partial_import_through_the_seek_index_stays_within_the_same_bound() {
    let dir = tempfile::tempdir().unwrap();
    let Some((true, baseline)) = peak("import", &vector("empty"), dir.path()) else {
        eprintln!("no peak memory from /proc here: nothing to measure");
        return;
    };
    let archive = dir.path().join("crowded-indexed.keepsake");
    crowded_indexed_archive(&archive);
    let chunk = u64::from(keepsake::stream::writer::DEFAULT_CHUNK_SIZE);
    let bound = baseline + allowance(chunk, true);
    for more in [&["--conversation", "6302"][..], &[]] {
        let (ok, peak) = peak_with("import", &archive, dir.path(), more).unwrap();
        assert!(ok, "import {more:?}");
        assert!(
            peak <= bound,
            "import {more:?}: peak {:.1} MiB over {:.1} MiB",
            peak as f64 / MIB as f64,
            bound as f64 / MIB as f64,
        );
    }
}
