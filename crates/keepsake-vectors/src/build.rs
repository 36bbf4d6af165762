//! Building vectors: archives written through the writer's hooks, and the
//! byte surgery that gives each failure vector its one defect.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

use keepsake::body::records::{
    ArchiveMetadata, ArchiveMode, BatchBuilder, Elements, Record, encode_record,
};
use keepsake::crypto::{ArchiveKey, Recipient, seal_header};
use keepsake::format::{
    CHECK_LEN, ChunkKind, FLAG_FINAL, FRAME_HEADER_LEN, Header, HeaderLen, Trailer, check_value,
};
use keepsake::stream::writer::{ArchiveWriter, WriterOptions};

use super::*;

/// The deterministic generator for the vector (or base archive) `name`.
pub(crate) fn rng(name: &str) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(Sha256::digest(format!("keepsake test vector {name}")).into())
}

pub(crate) fn key(bytes: [u8; 32]) -> ArchiveKey {
    ArchiveKey::from_bytes(bytes)
}

pub(crate) fn metadata() -> ArchiveMetadata {
    ArchiveMetadata {
        mode: ArchiveMode::Records,
        created_at_ns: CREATED_AT_NS,
        elements: Elements::default(),
        start_ns: None,
        end_ns: None,
        creator: CREATOR.to_owned(),
    }
}

pub(crate) fn options(chunk_size: u32, level: i32) -> WriterOptions {
    WriterOptions {
        chunk_size,
        level,
        ..WriterOptions::default()
    }
}

pub(crate) fn small() -> WriterOptions {
    options(SMALL_CHUNK, 3)
}

/// An archive being written through the real writer, remembering which
/// records each chunk carries.
pub(crate) struct Build {
    pub(crate) name: String,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) writer: ArchiveWriter<Vec<u8>>,
    pub(crate) header: HeaderFacts,
    pub(crate) metadata: ArchiveMetadata,
    /// The records of each frame written so far, when known.
    pub(crate) chunks: Vec<Vec<Record>>,
    /// Every record written, in order.
    pub(crate) all: Vec<Record>,
    /// Whether `chunks` is exact: false once the writer batched records itself.
    pub(crate) tracked: bool,
}

impl Build {
    /// An archive written through the public constructor with one raw-key
    /// slot per key.
    pub(crate) fn new(name: &str, keys: &[[u8; 32]], options: &WriterOptions) -> Build {
        Build::with_metadata(name, keys, options, metadata())
    }

    pub(crate) fn with_metadata(
        name: &str,
        keys: &[[u8; 32]],
        options: &WriterOptions,
        metadata: ArchiveMetadata,
    ) -> Build {
        let mut build = Build::indexed(name, keys, options, metadata);
        // The published vectors predate the seek index; those that carry one add it by hand.
        build.writer.without_index();
        build
    }

    /// An archive whose writer builds a seek index, which the vector takes
    /// with [`ArchiveWriter::take_index`] and writes as it chooses.
    pub(crate) fn indexed(
        name: &str,
        keys: &[[u8; 32]],
        options: &WriterOptions,
        metadata: ArchiveMetadata,
    ) -> Build {
        let mut rng = rng(name);
        let keys: Vec<ArchiveKey> = keys.iter().copied().map(key).collect();
        let key_refs: Vec<&ArchiveKey> = keys.iter().collect();
        let writer = ArchiveWriter::with_rng(Vec::new(), &key_refs, &metadata, options, &mut rng)
            .expect("vector archives are valid writer input");
        Build {
            name: name.to_owned(),
            rng,
            writer,
            header: HeaderFacts {
                key_slots: keys.len(),
                max_chunk_size: options.chunk_size,
                max_record_size: options.max_record_size(),
            },
            metadata,
            chunks: vec![Vec::new()],
            all: Vec::new(),
            tracked: true,
        }
    }

    /// An archive whose header is sealed with the declared `limits` and
    /// `slots` (key and name), then changed by `edit` and authenticated
    /// again, with no chunk written yet. The body is chunked by `options`.
    pub(crate) fn sealed(
        name: &str,
        limits: (u32, u32),
        slots: &[([u8; 32], &str)],
        options: &WriterOptions,
        edit: impl FnOnce(&mut Header, &mut ChaCha20Rng),
    ) -> Build {
        let recipients: Vec<Recipient> = slots
            .iter()
            .map(|(k, n)| Recipient::raw_key(key(*k)).named(*n))
            .collect();
        Build::sealed_for(name, limits, &recipients, options, edit)
    }

    /// [`Build::sealed`] with slots for any recipients.
    pub(crate) fn sealed_for(
        name: &str,
        limits: (u32, u32),
        recipients: &[Recipient],
        options: &WriterOptions,
        edit: impl FnOnce(&mut Header, &mut ChaCha20Rng),
    ) -> Build {
        let mut rng = rng(name);
        let (mut header, keys) = seal_header(limits, recipients, &mut rng).expect("vector header");
        edit(&mut header, &mut rng);
        header.mac = keys.mac(&header).expect("vector header");
        Build::started(name, rng, &header, keys, options)
    }

    /// An archive whose sealed `header` is written as it is, with no chunk
    /// written yet and no seek index.
    pub(crate) fn started(
        name: &str,
        rng: ChaCha20Rng,
        header: &Header,
        keys: keepsake::crypto::HeaderKeys,
        options: &WriterOptions,
    ) -> Build {
        let mut writer =
            ArchiveWriter::start(Vec::new(), header, keys, options).expect("vector header");
        writer.without_index();
        Build {
            name: name.to_owned(),
            rng,
            writer,
            header: HeaderFacts {
                key_slots: header.slots.len(),
                max_chunk_size: header.prelude.max_chunk_size,
                max_record_size: header.prelude.max_record_size,
            },
            metadata: metadata(),
            chunks: Vec::new(),
            all: Vec::new(),
            tracked: true,
        }
    }

    /// [`Build::sealed`] followed by the usual metadata chunk.
    pub(crate) fn sealed_with_metadata(
        name: &str,
        limits: (u32, u32),
        slots: &[([u8; 32], &str)],
        options: &WriterOptions,
        edit: impl FnOnce(&mut Header, &mut ChaCha20Rng),
    ) -> Build {
        let mut build = Build::sealed(name, limits, slots, options, edit);
        let body = encoded_metadata(&build.metadata);
        build.chunk(ChunkKind::METADATA, body);
        build
    }

    /// Records through the writer's own batching.
    pub(crate) fn records(&mut self, records: &[Record]) {
        for record in records {
            self.writer.write_record(record).expect("vector records");
        }
        self.all.extend_from_slice(records);
        self.tracked = false;
    }

    /// Records as exactly one batch chunk.
    pub(crate) fn batch(&mut self, records: &[Record]) {
        assert!(
            self.tracked,
            "{}: batches after untracked records",
            self.name
        );
        for record in records {
            self.writer.write_record(record).expect("vector records");
        }
        self.writer.flush_batch().expect("vector batch");
        self.all.extend_from_slice(records);
        self.chunks.push(records.to_vec());
    }

    /// A chunk of any kind, compressed when that helps, counted in the trailer.
    pub(crate) fn chunk(&mut self, kind: ChunkKind, body: Vec<u8>) {
        self.writer.flush_batch().expect("vector batch");
        self.writer.write_chunk(kind, body).expect("vector chunk");
        self.chunks.push(Vec::new());
    }

    /// A frame sealed with exactly these kind, flags and stored plaintext,
    /// not counted in the trailer: for chunks the reader must refuse.
    pub(crate) fn frame(&mut self, kind: ChunkKind, flags: u8, stored: Vec<u8>) {
        self.writer.flush_batch().expect("vector batch");
        self.writer
            .write_frame(kind, flags, stored)
            .expect("vector frame");
        self.chunks.push(Vec::new());
    }

    /// A record batch whose stored plaintext `store` makes from its body,
    /// counted in the trailer like any batch: for compressed forms the
    /// writer's compressor does not produce.
    pub(crate) fn batch_stored(
        &mut self,
        records: &[Record],
        flags: u8,
        store: impl FnOnce(&[u8]) -> Vec<u8>,
    ) {
        self.writer.flush_batch().expect("vector batch");
        let body = batch_body(records);
        let tally = self.writer.tally_mut();
        tally.add_chunk(ChunkKind::RECORDS, &body);
        for record in records {
            assert!(tally.check_order(record).is_ok(), "{}: order", self.name);
            tally.add_record(record);
        }
        self.writer
            .write_frame(ChunkKind::RECORDS, flags, store(&body))
            .expect("vector frame");
        self.all.extend_from_slice(records);
        self.chunks.push(records.to_vec());
    }

    /// The trailer that would end the archive now.
    pub(crate) fn trailer(&mut self) -> Trailer {
        self.writer.trailer().expect("vector trailer")
    }

    pub(crate) fn finish(self) -> Built {
        self.finish_with(|_| {})
    }

    /// Writes `index` as the seek index chunk, then ends the archive with a
    /// trailer that points to it, its offset moved by `offset_shift`.
    pub(crate) fn finish_with_index(
        mut self,
        index: &keepsake::body::index::SeekIndex,
        offset_shift: u64,
    ) -> Built {
        let index_offset = self.writer.bytes_written();
        let index_chunk = self.chunks.len() as u64;
        self.chunk(ChunkKind::INDEX, index.to_bytes().expect("vector index"));
        self.finish_with(|trailer| {
            trailer.index_chunk = index_chunk;
            trailer.index_offset = index_offset + offset_shift;
        })
    }

    /// Ends the archive with the trailer the writer would write, changed by `edit`.
    pub(crate) fn finish_with(mut self, edit: impl FnOnce(&mut Trailer)) -> Built {
        let mut trailer = self.trailer();
        edit(&mut trailer);
        let stored = trailer.to_bytes().to_vec();
        self.end(ChunkKind::TRAILER, FLAG_FINAL, stored, trailer)
    }

    /// Ends the archive with a final frame made by `make` from the trailer the
    /// writer would write.
    pub(crate) fn finish_raw(
        mut self,
        kind: ChunkKind,
        flags: u8,
        make: impl FnOnce(&Trailer) -> Vec<u8>,
    ) -> Built {
        let trailer = self.trailer();
        let stored = make(&trailer);
        self.end(kind, flags, stored, trailer)
    }

    pub(crate) fn end(
        mut self,
        kind: ChunkKind,
        flags: u8,
        stored: Vec<u8>,
        trailer: Trailer,
    ) -> Built {
        self.writer
            .write_frame(kind, flags, stored)
            .expect("vector frame");
        let bytes = self.writer.into_sink().expect("vector sink");
        let built = Built {
            name: self.name,
            frames: frames(&bytes),
            bytes,
            header: self.header,
            metadata: self.metadata,
            chunks: self.chunks,
            all: self.all,
            tracked: self.tracked,
            trailer,
        };
        if built.tracked {
            assert_eq!(
                built.frames.len(),
                built.chunks.len() + 1,
                "{}: a batch did not fit one chunk",
                built.name
            );
        }
        built
    }
}

/// A finished archive and what went into it.
#[derive(Clone)]
pub(crate) struct Built {
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) frames: Vec<Span>,
    pub(crate) header: HeaderFacts,
    pub(crate) metadata: ArchiveMetadata,
    pub(crate) chunks: Vec<Vec<Record>>,
    pub(crate) all: Vec<Record>,
    pub(crate) tracked: bool,
    pub(crate) trailer: Trailer,
}

impl Built {
    /// The vector that reads this archive successfully.
    pub(crate) fn success(self, description: &str) -> Vector {
        Vector {
            name: self.name,
            description: description.to_owned(),
            key: KEY,
            bytes: self.bytes,
            outcome: Outcome::Success,
            released: self.all,
            expected: Some(Expected {
                header: self.header,
                metadata: self.metadata,
                trailer: self.trailer,
            }),
            seek: None,
            opener: VectorOpener::RawKey,
            signature: None,
            salvage: None,
        }
    }

    /// A vector that fails at chunk `chunk` of this archive's layout, or
    /// reads it up to there.
    pub(crate) fn fails_at(&self, chunk: usize, description: &str, outcome: Outcome) -> Vector {
        Vector::new(&self.name, description, self.bytes.clone(), outcome)
            .with_released(self.before(chunk))
    }

    /// The records of the chunks before chunk `chunk`.
    pub(crate) fn before(&self, chunk: usize) -> Vec<Record> {
        assert!(self.tracked, "{}: chunk layout unknown", self.name);
        self.chunks[..chunk.min(self.chunks.len())].concat()
    }

    /// The records of the chunks whose frames end at or before `offset`.
    pub(crate) fn read_by(&self, offset: usize) -> Vec<Record> {
        let complete = self.frames.iter().take_while(|f| f.end <= offset).count();
        self.before(complete)
    }

    pub(crate) fn header_len(&self) -> usize {
        self.frames[0].start
    }

    pub(crate) fn frame(&self, chunk: usize) -> Span {
        self.frames[chunk]
    }

    pub(crate) fn last(&self) -> usize {
        self.frames.len() - 1
    }
}

/// Where one frame lies in an archive.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) flags: u8,
}

/// The frames of a well-formed archive, found from their headers alone.
pub(crate) fn frames(bytes: &[u8]) -> Vec<Span> {
    let mut at = match Header::measure(bytes) {
        Ok(HeaderLen::Exactly(len)) => len,
        other => panic!("not a well-formed header: {other:?}"),
    };
    let mut out = Vec::new();
    while at < bytes.len() {
        let stored_len = u32::from_le_bytes(bytes[at + 2..at + 6].try_into().expect("4 bytes"));
        let end = at + FRAME_HEADER_LEN + stored_len as usize;
        out.push(Span {
            start: at,
            end,
            flags: bytes[at + 1],
        });
        at = end;
    }
    assert_eq!(at, bytes.len(), "frames overrun the archive");
    out
}

pub(crate) fn batch_body(records: &[Record]) -> Vec<u8> {
    let mut batch = BatchBuilder::new();
    for record in records {
        batch.push_encoded(&encode_record(record).expect("vector records encode"));
    }
    batch.take()
}

pub(crate) fn varint(value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    keepsake::body::records::push_varint(value, &mut out);
    out
}

/// A batch body with the schema version and these already-encoded entries.
pub(crate) fn raw_batch(entries: &[&[u8]]) -> Vec<u8> {
    let mut body = varint(1);
    for entry in entries {
        body.extend(varint(entry.len() as u64));
        body.extend_from_slice(entry);
    }
    body
}

pub(crate) fn encoded_metadata(metadata: &ArchiveMetadata) -> Vec<u8> {
    let mut body = Vec::new();
    keepsake::body::records::encode_into(metadata, &mut body).expect("metadata encodes");
    body
}

pub(crate) fn encoded(record: &Record) -> Vec<u8> {
    encode_record(record).expect("vector records encode")
}

/// `bytes` with the single occurrence of `from` replaced by `to`.
pub(crate) fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let found: Vec<usize> = (0..=bytes.len().saturating_sub(from.len()))
        .filter(|&at| bytes[at..].starts_with(from))
        .collect();
    assert_eq!(found.len(), 1, "pattern must occur exactly once");
    [&bytes[..found[0]], to, &bytes[found[0] + from.len()..]].concat()
}

// Byte surgery on finished archives.

pub(crate) fn flip(bytes: &[u8], offset: usize, bit: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[offset] ^= 1 << bit;
    out
}

pub(crate) fn set(bytes: &[u8], offset: usize, value: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[offset..offset + value.len()].copy_from_slice(value);
    out
}

/// Recomputes `fixed_check` (header bytes 54..58).
pub(crate) fn fix_fixed_check(mut bytes: Vec<u8>) -> Vec<u8> {
    let check = check_value(&bytes[..54]);
    bytes[54..58].copy_from_slice(&check);
    bytes
}

/// Recomputes `table_check` from `slot_table_len` and the table.
pub(crate) fn fix_table_check(mut bytes: Vec<u8>) -> Vec<u8> {
    let table_len = usize::from(u16::from_le_bytes([bytes[52], bytes[53]]));
    let end = 58 + table_len;
    let check = check_value(&bytes[58..end]);
    bytes[end..end + CHECK_LEN].copy_from_slice(&check);
    bytes
}

/// Recomputes the `frame_check` of the frame starting at `start`.
pub(crate) fn fix_frame_check(mut bytes: Vec<u8>, start: usize) -> Vec<u8> {
    let check = check_value(&bytes[start..start + 14]);
    bytes[start + 14..start + 18].copy_from_slice(&check);
    bytes
}

pub(crate) fn splice(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// zstd frames written by hand (RFC 8878 §3.1.1), for forms the compressor
// does not produce.
