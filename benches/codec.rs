//! Throughput of each codec layer and of a whole write and read, over a
//! ladder of sizes (`benches/database.rs` times the SQLite adapter).
//! Compare figures within one run: absolute ones depend on the machine.

use std::hint::black_box;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use keepsake::body::compress::{Compressor, Decompressor};
use keepsake::body::records::{BatchBuilder, BatchLimits, decode_batch, encode_record};
use keepsake::{
    ArchiveKey, ArchiveMetadata, ArchiveReader, ArchiveWriter, Conversation, ConversationKind,
    DeliveryStatus, Identity, Limits, Message, MessageKind, Record, WriterOptions,
};
use rand::{Rng, SeedableRng};

const SIZES: [usize; 3] = [64 << 10, 1 << 20, 8 << 20];

/// Messages of chat-like text, with one conversation in front, totalling
/// about `bytes` of content.
fn records(bytes: usize) -> Vec<Record> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let words = [
        "hello",
        "see",
        "you",
        "tomorrow",
        "at",
        "the",
        "station",
        "ok",
        "thanks",
        "😀",
        "とても",
        "bien",
        "merci",
        "where",
        "are",
        "we",
        "meeting",
    ];
    let conversation_id = vec![1; 32];
    let mut out = vec![Record::Conversation(Conversation {
        id: conversation_id.clone(),
        kind: ConversationKind::Group,
        created_at_ns: 0,
        name: Some("bench".into()),
        dm_peer: None,
        added_by: None,
        member_ids: vec!["a".into(), "b".into()],
        metadata: Default::default(),
        last_message_ns: None,
    })];
    let mut total = 0;
    let mut n: i64 = 0;
    while total < bytes {
        let length = rng.gen_range(3..30);
        let text: Vec<&str> = (0..length)
            .map(|_| words[rng.gen_range(0..words.len())])
            .collect();
        let content = text.join(" ").into_bytes();
        total += content.len() + 100;
        n += 1;
        out.push(Record::Message(Message {
            id: n.to_le_bytes().repeat(4),
            conversation_id: conversation_id.clone(),
            sender_id: format!("inbox-{}", n % 7),
            sender_installation_id: vec![(n % 7) as u8; 32],
            sent_at_ns: 1_700_000_000_000_000_000 + n * 1_000_000_000,
            kind: MessageKind::Application,
            content_type: "xmtp.org/text:1.0".into(),
            content,
            delivery_status: DeliveryStatus::Published,
            reference_id: None,
            expires_at_ns: None,
        }));
    }
    out
}

fn write(records: &[Record]) -> Vec<u8> {
    let key = ArchiveKey::from_bytes([7; 32]);
    let mut writer = ArchiveWriter::new(
        Vec::new(),
        &[&key],
        &ArchiveMetadata::now(),
        &WriterOptions::default(),
    )
    .unwrap();
    for record in records {
        writer.write_record(record).unwrap();
    }
    writer.finish().unwrap().0
}

fn encoded_batch(records: &[Record]) -> Vec<u8> {
    let mut batch = BatchBuilder::new();
    for record in records {
        batch.push_encoded(&encode_record(record).unwrap());
    }
    batch.take()
}

fn layers(c: &mut Criterion) {
    let mut group = c.benchmark_group("layers");
    for size in SIZES {
        let records = records(size);
        let batch = encoded_batch(&records);
        group.throughput(Throughput::Bytes(batch.len() as u64));
        group.bench_with_input(BenchmarkId::new("record encode", size), &records, |b, r| {
            b.iter(|| black_box(encoded_batch(r)))
        });
        group.bench_with_input(
            BenchmarkId::new("record decode", size),
            &batch,
            |b, body| {
                b.iter(|| {
                    black_box(
                        decode_batch(body, 1, BatchLimits::record_size_only(u32::MAX)).unwrap(),
                    )
                })
            },
        );
        let mut compressor = Compressor::new(3).unwrap();
        group.bench_with_input(
            BenchmarkId::new("zstd-3 compress", size),
            &batch,
            |b, body| b.iter(|| black_box(compressor.compress(body))),
        );
        // Frame sealing is ChaCha20-Poly1305 over the stored body with the
        // 18-byte frame header as associated data.
        let aead = ChaCha20Poly1305::new(&[7u8; 32].into());
        let frame_header = [0u8; 18];
        group.bench_with_input(BenchmarkId::new("frame seal", size), &batch, |b, body| {
            b.iter(|| {
                let mut buffer = body.clone();
                let tag = aead
                    .encrypt_in_place_detached(&Nonce::default(), &frame_header, &mut buffer)
                    .unwrap();
                black_box((buffer, tag))
            })
        });
        let compressed = compressor.compress(&batch).unwrap();
        let mut decompressor = Decompressor::default();
        group.bench_with_input(
            BenchmarkId::new("zstd decompress", size),
            &compressed,
            |b, stored| {
                b.iter(|| black_box(decompressor.decompress(stored, batch.len(), 1).unwrap()))
            },
        );
    }
    group.finish();
}

fn whole(c: &mut Criterion) {
    let mut group = c.benchmark_group("archive");
    group.sample_size(10);
    for size in SIZES {
        let records = records(size);
        let plaintext = encoded_batch(&records).len() as u64;
        group.throughput(Throughput::Bytes(plaintext));
        group.bench_with_input(BenchmarkId::new("write", size), &records, |b, r| {
            b.iter(|| black_box(write(r)))
        });
        let archive = write(&records);
        let identities = [Identity::RawKey(ArchiveKey::from_bytes([7; 32]))];
        group.bench_with_input(BenchmarkId::new("read", size), &archive, |b, bytes| {
            b.iter(|| {
                let mut reader =
                    ArchiveReader::new(&bytes[..], &identities, Limits::default()).unwrap();
                while let Some(batch) = reader.next_batch().unwrap() {
                    black_box(batch);
                }
            })
        });
        // What verify does: every check, no records built.
        group.bench_with_input(BenchmarkId::new("check", size), &archive, |b, bytes| {
            b.iter(|| {
                let mut reader =
                    ArchiveReader::checking_only(&bytes[..], &identities, Limits::default())
                        .unwrap();
                while let Some(records) = reader.check_next().unwrap() {
                    black_box(records);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, layers, whole);
criterion_main!(benches);
