//! What the Keepsake fuzz targets share: the known key, a decode driver that
//! feeds the sans-I/O decoder in pieces of any size, and a sealer that turns
//! a chunk description into an archive that authenticates under that key.
//!
//! The sealer exists because every chunk body is authenticated: mutating an
//! archive's bytes stops at the AEAD, so the code behind it (decompression,
//! record decoding, dependency order, the trailer check) is reached only by
//! sealing mutated bodies afresh. It follows the spec's key schedule (§4) and
//! frame sealing (§5) with its own code, so it is also a check of both.

use std::io::Cursor;

pub mod plaintext;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use keepsake::body::compress::Decompressor;
use keepsake::body::records::{BatchLimits, decode_batch};
use keepsake::crypto::{
    LABEL_HEADER_MAC, LABEL_PAYLOAD, LABEL_RAW_SLOT_CHECK, LABEL_RAW_SLOT_WRAP, nonce,
};
use keepsake::format::{
    ChunkKind, FLAG_COMPRESSED, FLAG_FINAL, FrameHeader, Header, MAC_LEN, MAGIC, Prelude, SALT_LEN,
    SIGNATURE_BLOCK_LEN, SUITE_V1, SlotEntry, TAG_LEN, Trailer, slot_kind,
};
use keepsake::{
    ArchiveKey, ArchiveReader, Decoder, Event, Identity, Item, Limits, Record, SeekableArchive,
    read_summary,
};
use sha2::{Digest, Sha256};

/// The key every fuzz target opens archives with.
pub const KEY: [u8; 32] = [7; 32];

/// [`KEY`] as an [`ArchiveKey`].
pub fn key() -> ArchiveKey {
    ArchiveKey::from_bytes(KEY)
}

/// The key of the test vectors in `test-vectors/` (bytes 0 to 31), so that
/// those seeds decode past their header too.
pub const VECTOR_KEY: [u8; 32] = {
    let mut key = [0; 32];
    let mut i = 0;
    while i < 32 {
        key[i] = i as u8;
        i += 1;
    }
    key
};

/// The identities the decoding targets offer: [`KEY`] and [`VECTOR_KEY`].
pub fn identities() -> Vec<Identity> {
    vec![
        Identity::RawKey(key()),
        Identity::RawKey(ArchiveKey::from_bytes(VECTOR_KEY)),
    ]
}

/// What decoding an input gave: every event in order, and the error that
/// ended the decode (as its `Debug` text, which names the class and the
/// chunk or offset), if any.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    /// The events, in archive order.
    pub events: Vec<Event>,
    /// The error, or `None` when the archive decoded to its end.
    pub error: Option<String>,
}

/// Decodes `data` with [`identities`], handing the decoder pieces whose lengths
/// `piece` chooses, then telling it the input has ended.
pub fn decode_in_pieces(data: &[u8], mut piece: impl FnMut() -> usize) -> Outcome {
    let mut decoder = Decoder::new(&identities(), Limits::default());
    let mut events = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let end = at.saturating_add(piece().max(1)).min(data.len());
        let mut rest = &data[at..end];
        while !rest.is_empty() {
            match decoder.feed(rest) {
                Ok((used, event)) => {
                    assert!(
                        used <= rest.len(),
                        "the decoder consumed more than it was given"
                    );
                    assert!(
                        used > 0 || event.is_some(),
                        "the decoder neither consumed input nor produced an event"
                    );
                    rest = &rest[used..];
                    events.extend(event);
                }
                Err(error) => {
                    return Outcome {
                        events,
                        error: Some(format!("{error:?}")),
                    };
                }
            }
        }
        at = end;
    }
    let error = decoder.finish().err().map(|error| format!("{error:?}"));
    Outcome { events, error }
}

/// Inputs up to this long are also fed to the decoder one byte at a time;
/// longer ones only in pseudo-random pieces, half of them of 1 to 8 bytes,
/// which cross every kind of boundary without a call per byte of a large
/// chunk.
pub const BYTEWISE_MAX: usize = 4096;

/// Decodes `data` whole, in pieces of pseudo-random lengths drawn from the
/// input itself and, when it is short, one byte at a time, and asserts that
/// all give the same events and the same error. Then asserts that the
/// blocking reader (on two threads), the reader that only checks, and the
/// seekable summary agree with them. Returns the outcome.
pub fn check_decode(data: &[u8]) -> Outcome {
    let whole = decode_in_pieces(data, || usize::MAX);
    if data.len() <= BYTEWISE_MAX {
        let bytewise = decode_in_pieces(data, || 1);
        assert_eq!(whole, bytewise, "whole input versus one byte at a time");
    }
    // FNV-1a of the input seeds the piece lengths, so they change with every
    // mutation and a crash still reproduces from its input alone.
    let mut state = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    }) | 1;
    let split = decode_in_pieces(data, || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if state & 0x100 == 0 {
            (state % 8) as usize + 1
        } else {
            (state % 6000) as usize + 1
        }
    });
    assert_eq!(whole, split, "whole input versus pseudo-random pieces");

    let records: Vec<Record> = whole
        .events
        .iter()
        .flat_map(|event| match event {
            Event::Records { records, .. } => records.clone(),
            _ => Vec::new(),
        })
        .collect();
    agrees(&whole, read_with_reader(data), records, "the reader");
    // Verify checks records without building them: it must pass the same
    // records and pages and fail the same way.
    let passed: u64 = whole
        .events
        .iter()
        .map(|event| match event {
            Event::Records { records, .. } => records.len() as u64,
            Event::Pages { batch, .. } => batch.pages.len() as u64,
            _ => 0,
        })
        .sum();
    agrees(&whole, check_with_reader(data), passed, "checking alone");

    let summary = read_summary(Cursor::new(data), &identities(), Limits::default());
    if whole.error.is_none() {
        let summary = summary.expect("the summary of an archive that decodes");
        let Some(Event::End(trailer)) = whole.events.last() else {
            panic!("a decode that succeeded did not end with the trailer");
        };
        assert_eq!(summary.trailer.as_ref(), Some(trailer));
        assert!(
            whole
                .events
                .contains(&Event::Metadata(summary.metadata.clone())),
            "the summary's metadata is not the decoder's"
        );
    }
    whole
}

/// Asserts that another way of reading the input ended as the decode did:
/// with `expected` when it succeeded, with the same error otherwise.
fn agrees<T: PartialEq + std::fmt::Debug>(
    whole: &Outcome,
    other: Result<T, String>,
    expected: T,
    what: &str,
) {
    match other {
        Ok(value) => {
            assert_eq!(
                whole.error, None,
                "{what} accepted what the decoder refused"
            );
            assert_eq!(value, expected, "{what} and the decoder disagree");
        }
        Err(error) => assert_eq!(
            whole.error.as_deref(),
            Some(error.as_str()),
            "{what} and the decoder fail differently"
        ),
    }
}

/// Every record of `data`, read with [`ArchiveReader`]; the error as `Debug` text.
fn read_with_reader(data: &[u8]) -> Result<Vec<Record>, String> {
    let mut reader = ArchiveReader::with_threads(data, &identities(), Limits::default(), 2)
        .map_err(|error| format!("{error:?}"))?;
    let mut records = Vec::new();
    while let Some(item) = reader.next_item().map_err(|error| format!("{error:?}"))? {
        if let Item::Records(batch) = item {
            records.extend(batch);
        }
    }
    Ok(records)
}

/// Reads `data` as verify does, checking records without building them;
/// the count passed, or the error as `Debug` text.
fn check_with_reader(data: &[u8]) -> Result<u64, String> {
    let mut reader = ArchiveReader::checking_only(data, &identities(), Limits::default())
        .map_err(|error| format!("{error:?}"))?;
    let mut passed = 0;
    while let Some(count) = reader.check_next().map_err(|error| format!("{error:?}"))? {
        passed += count;
    }
    Ok(passed)
}

/// Opens `data` through its seek index, if it has one, and reads every record
/// batch the index lists: no panic, an index that fails is `Corrupt` at the
/// index chunk or over the decoded-size limit, and whatever the index says,
/// the batches it leads to are exactly those a streaming reader yields when
/// it reads the archive successfully (spec §6.5.4). Returns whether the index
/// was read.
pub fn check_seek(data: &[u8]) -> bool {
    let mut archive =
        match SeekableArchive::open(Cursor::new(data), &identities(), Limits::default()) {
            Ok(archive) => archive,
            Err(_) => return false,
        };
    let Some(index) = archive.index().cloned() else {
        return false;
    };
    let mut through_index = Vec::new();
    for (chunk, entry) in index.chunks.iter().enumerate() {
        if entry.kind != ChunkKind::RECORDS.0 {
            continue;
        }
        match archive.read_chunk(chunk as u64) {
            Ok(records) => through_index.push(records),
            Err(_) => return true,
        }
    }
    let Ok(mut reader) =
        ArchiveReader::with_threads(Cursor::new(data), &identities(), Limits::default(), 1)
    else {
        return true;
    };
    let mut streamed = Vec::new();
    loop {
        match reader.next_batch() {
            Ok(Some(batch)) => streamed.push(batch),
            Ok(None) => break,
            Err(_) => return true,
        }
    }
    assert_eq!(through_index, streamed, "the index leads to other batches");
    true
}

/// Whether `data` starts like an archive, rather than like a chunk description.
pub fn is_archive(data: &[u8]) -> bool {
    data.first() == Some(&MAGIC[0])
}

/// Option bit of a chunk description: end with a trailer computed from the chunks.
pub const END_WITH_TRAILER: u8 = 0x01;
/// Option bit of a chunk description: declare 4 KiB chunks instead of 64 KiB.
pub const SMALL_LIMITS: u8 = 0x02;
/// Chunk flag bit of a chunk description: compress the body here (and set the compressed flag).
pub const COMPRESS_HERE: u8 = 0x80;

/// Seals a chunk description under [`KEY`] into an archive.
///
/// A description is one option byte ([`END_WITH_TRAILER`], [`SMALL_LIMITS`])
/// followed by chunks, each a kind byte, a flags byte, a 2-byte little-endian
/// body length and the body (cut short where the input ends). In the flags
/// byte, bits 0–1 are the frame flags as stored (final, compressed) and
/// [`COMPRESS_HERE`] has the body zstd-compressed first; other bits are ignored.
/// Chunks are numbered in order, so every frame authenticates, whatever it holds.
pub fn seal_description(description: &[u8]) -> Vec<u8> {
    let Some((&options, mut rest)) = description.split_first() else {
        return Vec::new();
    };
    let (max_chunk_size, max_record_size) = if options & SMALL_LIMITS != 0 {
        (4096, 4088)
    } else {
        (65536, 65528)
    };
    let mut sealer = Sealer::new(&KEY, max_chunk_size, max_record_size);
    while let Some(([kind, flags, len_low, len_high], after)) = rest.split_first_chunk::<4>() {
        let len = usize::from(u16::from_le_bytes([*len_low, *len_high])).min(after.len());
        let (body, after) = after.split_at(len);
        sealer.chunk(ChunkKind(*kind), *flags, body);
        rest = after;
    }
    if options & END_WITH_TRAILER != 0 {
        sealer.trailer();
    }
    sealer.out
}

/// Builds an archive frame by frame under a fixed file key, from the spec.
pub struct Sealer {
    out: Vec<u8>,
    payload: ChaCha20Poly1305,
    next_chunk: u64,
    max_chunk_size: u32,
    max_record_size: u32,
    digest: Sha256,
    plaintext_bytes: u64,
    counts: [u64; 3],
    pages: u64,
    time_range: Option<(i64, i64)>,
    /// The chunk and offset of the last chunk sealed, when it is a seek index.
    index: Option<(u64, u64)>,
}

fn hkdf(ikm: &[u8], salt: &[u8], info: &[&[u8]], out: &mut [u8]) {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand_multi_info(info, out)
        .expect("short HKDF output");
}

impl Sealer {
    /// Starts an archive whose one raw-key slot opens with `key` (spec §4.2–§4.4).
    pub fn new(key: &[u8; 32], max_chunk_size: u32, max_record_size: u32) -> Self {
        let file_key = [9u8; 32];
        let slot_salt = [5u8; 16];
        let prelude = Prelude {
            suite: SUITE_V1,
            max_chunk_size,
            max_record_size,
            salt: [3; SALT_LEN],
        };
        let mut check = [0; 16];
        hkdf(key, &slot_salt, &[LABEL_RAW_SLOT_CHECK], &mut check);
        let mut wrap_key = [0; 32];
        hkdf(key, &slot_salt, &[LABEL_RAW_SLOT_WRAP], &mut wrap_key);
        let wrapped = ChaCha20Poly1305::new(Key::from_slice(&wrap_key))
            .encrypt(&Nonce::default(), &file_key[..])
            .expect("wrap the file key");
        let body = [&slot_salt[..], &check, &wrapped].concat();
        let mut header = Header {
            prelude,
            slots: vec![SlotEntry {
                kind: slot_kind::RAW_KEY,
                name: String::new(),
                body,
            }],
            mac: [0; MAC_LEN],
        };
        let mut mac_key = [0; 32];
        hkdf(
            &file_key,
            &header.prelude.salt,
            &[LABEL_HEADER_MAC],
            &mut mac_key,
        );
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&mac_key).expect("any key length");
        mac.update(&header.authenticated_bytes().expect("a valid header"));
        header.mac = mac.finalize().into_bytes().into();
        let mut payload_key = [0; 32];
        hkdf(
            &file_key,
            &header.prelude.salt,
            &[LABEL_PAYLOAD, &header.prelude.to_bytes()],
            &mut payload_key,
        );
        Sealer {
            out: header.to_bytes().expect("a valid header"),
            payload: ChaCha20Poly1305::new(Key::from_slice(&payload_key)),
            next_chunk: 0,
            max_chunk_size,
            max_record_size,
            digest: Sha256::new(),
            plaintext_bytes: 0,
            counts: [0; 3],
            pages: 0,
            time_range: None,
            index: None,
        }
    }

    /// The offset the next frame starts at.
    pub fn offset(&self) -> u64 {
        self.out.len() as u64
    }

    /// The index of the next chunk.
    pub fn next_chunk(&self) -> u64 {
        self.next_chunk
    }

    /// Seals `stored` as the next frame (spec §5.2–§5.3).
    fn frame(&mut self, kind: ChunkKind, flags: u8, stored: &[u8]) {
        let frame = FrameHeader {
            kind,
            flags,
            stored_len: (stored.len() + TAG_LEN) as u32,
            chunk: self.next_chunk,
        };
        let header = frame.to_bytes();
        let sealed = self
            .payload
            .encrypt(
                Nonce::from_slice(&nonce(frame.chunk, frame.is_final())),
                chacha20poly1305::aead::Payload {
                    msg: stored,
                    aad: &header,
                },
            )
            .expect("seal a frame");
        self.out.extend_from_slice(&header);
        self.out.extend_from_slice(&sealed);
        self.next_chunk += 1;
    }

    /// Adds a chunk as a chunk description's flags byte asks, and counts
    /// what a reader would count for the trailer.
    pub fn chunk(&mut self, kind: ChunkKind, flags: u8, body: &[u8]) {
        let mut frame_flags = flags & (FLAG_FINAL | FLAG_COMPRESSED);
        let stored = if flags & COMPRESS_HERE != 0 {
            frame_flags |= FLAG_COMPRESSED;
            zstd::bulk::compress(body, 1).expect("zstd compresses anything")
        } else {
            body.to_vec()
        };
        // What a reader sees after decompression; a body it cannot
        // decompress fails the decode anyway, so it need not be counted.
        let plain = if frame_flags & FLAG_COMPRESSED != 0 {
            Decompressor::default()
                .decompress(&stored, self.max_chunk_size as usize, self.next_chunk)
                .unwrap_or_default()
        } else {
            stored.clone()
        };
        self.digest.update([kind.0]);
        self.digest.update((plain.len() as u32).to_le_bytes());
        self.digest.update(&plain);
        self.plaintext_bytes += plain.len() as u64;
        if kind == ChunkKind::RECORDS {
            let limits = BatchLimits {
                max_record_size: self.max_record_size,
                max_decoded_size: Limits::default().max_decoded_size,
            };
            for record in decode_batch(&plain, self.next_chunk, limits).unwrap_or_default() {
                match record {
                    Record::Conversation(_) => self.counts[0] += 1,
                    Record::Message(message) => {
                        self.counts[1] += 1;
                        let at = message.sent_at_ns;
                        self.time_range = Some(match self.time_range {
                            None => (at, at),
                            Some((first, last)) => (first.min(at), last.max(at)),
                        });
                    }
                    Record::Consent(_) => self.counts[2] += 1,
                }
            }
        }
        if kind == ChunkKind::PAGES {
            // A page batch that decodes counts its entries; the rules across
            // batches are the decoder's to check.
            self.pages += keepsake::body::pages::decode_batch(&plain, self.next_chunk)
                .map_or(0, |batch| batch.pages.len() as u64);
        }
        self.index = (kind == ChunkKind::INDEX).then(|| (self.next_chunk, self.offset()));
        self.frame(kind, frame_flags, &stored);
    }

    /// Ends the archive with the trailer a reader expects (spec §6.6); when
    /// the chunk before it is a seek index, the trailer points to it (§6.5.1).
    pub fn trailer(&mut self) {
        let trailer = Trailer {
            chunk_count: self.next_chunk,
            conversations: self.counts[0],
            messages: self.counts[1],
            consent: self.counts[2],
            pages: self.pages,
            plaintext_bytes: self.plaintext_bytes,
            time_range: self.time_range,
            content_digest: self.digest.clone().finalize().into(),
            index_chunk: self.index.map_or(0, |(chunk, _)| chunk),
            index_offset: self.index.map_or(0, |(_, offset)| offset),
            signature: [0; SIGNATURE_BLOCK_LEN],
        };
        self.frame(ChunkKind::TRAILER, FLAG_FINAL, &trailer.to_bytes());
    }

    /// The archive's bytes so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }
}
