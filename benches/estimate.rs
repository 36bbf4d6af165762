//! A size estimate against the archive it estimates: `estimate_archive` and
//! `create_archive` on the same sample databases, one per shape. The
//! estimate should take a small fraction of the create's time; compare the
//! two lines of each database within one run.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use keepsake::ArchiveKey;
use keepsake_sqlite::sample::{SampleOptions, SampleShape, write_sample};
use keepsake_sqlite::{CreateOptions, create_archive, estimate_archive};

/// The databases: a shape and how many messages, about 20 to 30 MB each.
const DATABASES: [(&str, SampleShape, u64); 3] = [
    ("mixed", SampleShape::Mixed, 50_000),
    ("text-heavy", SampleShape::TextHeavy, 50_000),
    ("attachment-heavy", SampleShape::AttachmentHeavy, 1_000),
];

fn database(dir: &Path, name: &str, shape: SampleShape, messages: u64) -> PathBuf {
    let db = dir.join(format!("{name}.db"));
    write_sample(
        &db,
        &SampleOptions {
            messages,
            conversations: 40,
            shape,
            ..SampleOptions::default()
        },
    )
    .unwrap();
    db
}

fn estimate_vs_create(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let key = ArchiveKey::from_bytes([7; 32]);
    let options = CreateOptions::default();
    let mut group = c.benchmark_group("estimate vs create");
    group.sample_size(10);
    for (name, shape, messages) in DATABASES {
        let db = database(dir.path(), name, shape, messages);
        group.bench_with_input(BenchmarkId::new("estimate", name), &db, |b, db| {
            b.iter(|| black_box(estimate_archive(db, &options).unwrap()))
        });
        let archive = dir.path().join(format!("{name}.keepsake"));
        group.bench_with_input(BenchmarkId::new("create", name), &db, |b, db| {
            b.iter(|| {
                let report = create_archive(db, &archive, &[&key], &options).unwrap();
                std::fs::remove_file(&archive).unwrap();
                black_box(report)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, estimate_vs_create);
criterion_main!(benches);
