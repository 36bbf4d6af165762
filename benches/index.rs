//! The seek index at scale: an archive of a million messages (set
//! `KEEPSAKE_BENCH_MESSAGES` for another size) over a thousand conversations,
//! laid out as `create_archive` lays out a database filled while syncing:
//! every conversation first, then the messages in send-time order,
//! interleaved across conversations, each window of about 8 MiB grouped by
//! conversation. Prints the index's size, then times opening the archive through
//! its index and finding one conversation's chunks, reading that conversation,
//! and a full verifying read for comparison.

use std::fs::File;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use keepsake::{
    ArchiveKey, ArchiveMetadata, ArchiveReader, ArchiveWriter, Conversation, ConversationKind,
    DeliveryStatus, Identity, Limits, Message, MessageKind, Record, SeekableArchive, Selection,
    WriterOptions,
};

const CONVERSATIONS: u64 = 1000;
/// Messages in a window of create's order: about 8 MiB of these.
const WINDOW: u64 = 64_000;
const YEAR_NS: i64 = 365 * 86_400 * 1_000_000_000;

fn messages() -> u64 {
    std::env::var("KEEPSAKE_BENCH_MESSAGES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1_000_000)
}

fn conversation_id(c: u64) -> Vec<u8> {
    let mut id = vec![0xc0; 32];
    id[..8].copy_from_slice(&c.to_be_bytes());
    id
}

/// Writes the archive; returns its path.
fn write_archive(dir: &Path, key: &ArchiveKey, messages: u64) -> PathBuf {
    let path = dir.join("million.keepsake");
    let mut writer = ArchiveWriter::new(
        std::io::BufWriter::new(File::create(&path).unwrap()),
        &[key],
        &ArchiveMetadata::now(),
        &WriterOptions::default(),
    )
    .unwrap();
    let per_conversation = messages / CONVERSATIONS;
    for c in 0..CONVERSATIONS {
        writer
            .write_record(&Record::Conversation(Conversation {
                id: conversation_id(c),
                kind: ConversationKind::Group,
                created_at_ns: 0,
                name: Some(format!("conversation {c}")),
                dm_peer: None,
                added_by: None,
                member_ids: vec!["alice".into(), "bob".into()],
                metadata: Default::default(),
                last_message_ns: None,
            }))
            .unwrap();
    }
    // Message m of every conversation is sent at the same time: in send
    // order, the conversations take turns. Each window of them is grouped
    // by conversation.
    let total = per_conversation * CONVERSATIONS;
    let step = YEAR_NS / per_conversation.max(1) as i64;
    for first in (0..total).step_by(WINDOW as usize) {
        let mut window: Vec<(u64, u64)> = (first..(first + WINDOW).min(total))
            .map(|n| (n % CONVERSATIONS, n / CONVERSATIONS))
            .collect();
        window.sort_unstable();
        for (c, m) in window {
            writer
                .write_record(&Record::Message(Message {
                    id: [c.to_be_bytes(), m.to_be_bytes()].concat(),
                    conversation_id: conversation_id(c),
                    sender_id: if m % 2 == 0 { "alice" } else { "bob" }.into(),
                    sender_installation_id: vec![7; 16],
                    sent_at_ns: (m as i64) * step,
                    kind: MessageKind::Application,
                    content_type: "xmtp.org/text:1.0".into(),
                    content: format!("message {m} of {c}: see you at the station tomorrow")
                        .into_bytes(),
                    delivery_status: DeliveryStatus::Published,
                    reference_id: None,
                    expires_at_ns: None,
                }))
                .unwrap();
        }
    }
    let (sink, trailer) = writer.finish().unwrap();
    drop(sink);
    let index_bytes = std::fs::metadata(&path).unwrap().len() - trailer.index_offset - 546;
    eprintln!(
        "{messages} messages, {CONVERSATIONS} conversations: archive {} bytes, {} chunks; \
         seek index frame {index_bytes} bytes (chunk {})",
        std::fs::metadata(&path).unwrap().len(),
        trailer.chunk_count + 1,
        trailer.index_chunk,
    );
    path
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let key = ArchiveKey::from_bytes([3; 32]);
    let identities = [Identity::RawKey(key.clone())];
    let path = write_archive(dir.path(), &key, messages());
    let selection = Selection {
        conversations: vec![conversation_id(CONVERSATIONS / 2)],
        ..Selection::default()
    };
    {
        let archive =
            SeekableArchive::open(File::open(&path).unwrap(), &identities, Limits::default())
                .unwrap();
        let index = archive.index().unwrap();
        eprintln!(
            "seek index body: {} entries, {} conversation ids, {} bytes encoded; \
             one conversation needs {} of {} chunks",
            index.chunks.len(),
            index.conversations.len(),
            index.to_bytes().unwrap().len(),
            selection.chunks(index).len(),
            archive.trailer().chunk_count + 1,
        );
    }

    let mut group = c.benchmark_group("seek-index");
    group.sample_size(10);
    group.bench_function("open index and find one conversation", |b| {
        b.iter(|| {
            let archive =
                SeekableArchive::open(File::open(&path).unwrap(), &identities, Limits::default())
                    .unwrap();
            black_box(selection.chunks(archive.index().unwrap()))
        })
    });
    group.bench_function("read one conversation through the index", |b| {
        b.iter(|| {
            let mut archive =
                SeekableArchive::open(File::open(&path).unwrap(), &identities, Limits::default())
                    .unwrap();
            let mut records = 0u64;
            archive
                .read_selected(&selection, &mut |_| {
                    records += 1;
                    Ok(())
                })
                .unwrap();
            black_box(records)
        })
    });
    group.bench_function("full verifying read", |b| {
        b.iter(|| {
            let mut reader =
                ArchiveReader::new(File::open(&path).unwrap(), &identities, Limits::default())
                    .unwrap();
            let mut records = 0;
            while let Some(batch) = reader.next_batch().unwrap() {
                records += batch.len();
            }
            black_box(records)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
