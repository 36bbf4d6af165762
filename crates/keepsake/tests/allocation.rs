//! Hostile lengths are refused before anything is allocated for them: a
//! counting global allocator measures the peak while the decoder reads
//! archives whose frames and headers declare enormous sizes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use keepsake::format::{ChunkKind, FLAG_COMPRESSED, FrameHeader, MAGIC};
use keepsake::limits::DEFAULT_MAX_CHUNK_SIZE;
use keepsake::{
    ArchiveKey, ArchiveMetadata, ArchiveReader, ArchiveWriter, Error, Limits, WriterOptions,
};

/// Counts each thread's own allocations, so that what the test harness or
/// another test allocates at the same time never shows in a measurement.
struct Counting;

thread_local! {
    /// Bytes this thread has allocated and not freed since its last reset;
    /// negative when it frees what it allocated before.
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Adds `change` to this thread's count; a thread being torn down is not counted.
fn count(change: isize) {
    let _ = CURRENT.try_with(|current| {
        let now = current.get() + change;
        current.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` on this thread and returns its result with the peak bytes it
/// allocated above what was live when it started.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    CURRENT.with(|current| current.set(0));
    PEAK.with(|peak| peak.set(0));
    let result = f();
    (result, PEAK.with(Cell::get) as usize)
}

const KEY: [u8; 32] = [7; 32];

/// A valid archive's header and metadata frame, declaring `chunk_size`.
fn archive_start(chunk_size: u32) -> Vec<u8> {
    let options = WriterOptions {
        chunk_size,
        level: 3,
        threads: 1,
        signing_key: None,
    };
    let mut writer = ArchiveWriter::new(
        Vec::new(),
        &[&ArchiveKey::from_bytes(KEY)],
        &ArchiveMetadata::now(),
        &options,
    )
    .unwrap();
    // Only the header and the metadata chunk are wanted: no seek index.
    writer.without_index();
    let bytes = writer.finish().unwrap().0;
    // Drop the final frame: keep header and metadata chunk.
    bytes[..bytes.len() - keepsake::format::FINAL_FRAME_LEN].to_vec()
}

fn read(bytes: &[u8]) -> Result<(), Error> {
    // One thread: every allocation of the decoder is on the measured thread.
    let mut reader = ArchiveReader::with_threads(
        bytes,
        &[ArchiveKey::from_bytes(KEY).into()],
        Limits::default(),
        1,
    )?;
    while reader.next_batch()?.is_some() {}
    Ok(())
}

#[test]
fn a_frame_declaring_u32_max_bytes_is_refused_without_allocating_it() {
    let mut bytes = archive_start(DEFAULT_MAX_CHUNK_SIZE);
    let frame = FrameHeader {
        kind: ChunkKind::RECORDS,
        flags: FLAG_COMPRESSED,
        stored_len: u32::MAX,
        chunk: 1,
    };
    bytes.extend_from_slice(&frame.to_bytes());
    bytes.extend_from_slice(&[0; 1000]);
    let (result, peak) = peak_during(|| read(&bytes));
    assert!(
        matches!(result, Err(Error::LimitExceeded { .. })),
        "{result:?}"
    );
    assert!(peak < 1 << 20, "peak allocation {peak} bytes");
}

#[test]
fn a_frame_at_the_limit_that_then_ends_costs_what_was_sent() {
    let mut bytes = archive_start(DEFAULT_MAX_CHUNK_SIZE);
    let frame = FrameHeader {
        kind: ChunkKind::RECORDS,
        flags: FLAG_COMPRESSED,
        stored_len: DEFAULT_MAX_CHUNK_SIZE + 16,
        chunk: 1,
    };
    bytes.extend_from_slice(&frame.to_bytes());
    bytes.extend_from_slice(&[0; 100_000]);
    let (result, peak) = peak_during(|| read(&bytes));
    assert!(matches!(result, Err(Error::Truncated { .. })), "{result:?}");
    assert!(peak < 1 << 20, "peak allocation {peak} bytes");
}

#[test]
fn a_header_declaring_u32_max_chunks_is_refused_without_allocating() {
    let mut bytes = archive_start(1 << 20);
    // Rewrite the declared chunk size and fix the fixed check value so the
    // header reaches the limit check (bytes 12..16; check over 0..54 at 54..58).
    bytes[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    let check = keepsake::format::check_value(&bytes[..54]);
    bytes[54..58].copy_from_slice(&check);
    assert_eq!(&bytes[..8], &MAGIC);
    let (result, peak) = peak_during(|| read(&bytes));
    assert!(
        matches!(result, Err(Error::LimitExceeded { value, .. }) if value == u64::from(u32::MAX)),
        "{result:?}"
    );
    assert!(peak < 1 << 20, "peak allocation {peak} bytes");
}

#[test]
fn a_slot_table_of_maximal_declared_length_that_ends_is_truncated() {
    let mut bytes = archive_start(1 << 20);
    bytes[52..54].copy_from_slice(&u16::MAX.to_le_bytes());
    let check = keepsake::format::check_value(&bytes[..54]);
    bytes[54..58].copy_from_slice(&check);
    bytes.truncate(200);
    let (result, peak) = peak_during(|| read(&bytes));
    assert!(matches!(result, Err(Error::Truncated { .. })), "{result:?}");
    assert!(peak < 1 << 20, "peak allocation {peak} bytes");
}

#[test]
fn a_page_batch_decodes_within_its_own_size() {
    let pages = 64;
    let mut body = 512u32.to_le_bytes().to_vec();
    body.extend_from_slice(&(pages as u32).to_le_bytes());
    for number in 1..=pages as u32 {
        body.extend_from_slice(&number.to_le_bytes());
        body.extend(std::iter::repeat_n(number as u8, 512));
    }
    let (batch, peak) = peak_during(|| keepsake::body::pages::decode_batch(&body, 1).unwrap());
    assert_eq!(batch.pages.len(), pages);
    // The pages' bytes once, and one small record per page.
    let bound =
        body.len() - 8 - 4 * pages + pages * std::mem::size_of::<keepsake::body::pages::Page>();
    assert!(peak <= bound, "peak {peak} over {bound}");
    // A body that declares huge pages but is short allocates nothing for them.
    let mut hostile = 65536u32.to_le_bytes().to_vec();
    hostile.extend_from_slice(&u32::MAX.to_le_bytes());
    hostile.extend_from_slice(&1u32.to_le_bytes());
    let (result, peak) = peak_during(|| keepsake::body::pages::decode_batch(&hostile, 1));
    assert!(matches!(result, Err(Error::Corrupt { chunk: 1, .. })));
    assert!(peak < 1024, "peak {peak}");
}

/// An archive of default chunks whose batch chunk holds one conversation
/// record with `members` empty member ids: a byte each, compressed to almost
/// nothing.
fn crowded_archive(members: usize) -> Vec<u8> {
    use keepsake::body::records::{
        BatchBuilder, Conversation, ConversationKind, Record, encode_record,
    };
    let key = ArchiveKey::from_bytes(KEY);
    let options = WriterOptions {
        threads: 1,
        ..WriterOptions::default()
    };
    let mut writer =
        ArchiveWriter::new(Vec::new(), &[&key], &ArchiveMetadata::now(), &options).unwrap();
    writer.without_index();
    let record = Record::Conversation(Conversation {
        id: b"crowded".to_vec(),
        kind: ConversationKind::Group,
        created_at_ns: 0,
        name: None,
        dm_peer: None,
        added_by: None,
        member_ids: vec![String::new(); members],
        metadata: Default::default(),
        last_message_ns: None,
    });
    let mut batch = BatchBuilder::new();
    batch.push_encoded(&encode_record(&record).unwrap());
    // Through the hidden hook, past the writer's own decoded-size budget.
    writer
        .write_chunk(ChunkKind::RECORDS, batch.take())
        .unwrap();
    writer.tally_mut().add_record(&record);
    writer.finish().unwrap().0
}

/// Reads with one thread, checking only or building records.
fn read_with(bytes: &[u8], build: bool) -> Result<u64, Error> {
    let identities = [ArchiveKey::from_bytes(KEY).into()];
    let mut count = 0;
    if build {
        let mut reader = ArchiveReader::with_threads(bytes, &identities, Limits::default(), 1)?;
        while let Some(batch) = reader.next_batch()? {
            count += batch.len() as u64;
        }
    } else {
        let mut reader = ArchiveReader::checking_only(bytes, &identities, Limits::default())?;
        while let Some(records) = reader.check_next()? {
            count += records;
        }
    }
    Ok(count)
}

/// Peak allocation on this thread allowed for reading a default archive's
/// frame without building records: its stored bytes, its body and a spare
/// buffer of 1 MiB each, and room for the decoder's state.
const ONE_FRAME: usize = 4 << 20;

#[test]
fn a_batch_over_the_decoded_size_limit_is_refused_before_its_records_are_built() {
    // A million empty members: a 1 MiB entry, 33 MiB of decoded size.
    let bytes = crowded_archive((1 << 20) - 64);
    assert!(bytes.len() < 8 << 10, "{} bytes", bytes.len());
    for build in [false, true] {
        let (result, peak) = peak_during(|| read_with(&bytes, build));
        assert!(
            matches!(
                result,
                Err(Error::LimitExceeded {
                    what: keepsake::Limit::DecodedSize,
                    ..
                })
            ),
            "{result:?}"
        );
        assert!(peak < ONE_FRAME, "building {build}: peak {peak} bytes");
    }
}

#[test]
fn a_batch_at_the_decoded_size_limit_costs_a_bounded_multiple_of_it() {
    // 256 + L + 32 × (1 + m) with L = m + 14: at most 16 MiB.
    let members = ((keepsake::limits::DEFAULT_MAX_DECODED_SIZE - 256 - 14 - 32 - 3) / 33) as usize;
    let bytes = crowded_archive(members);
    // Checking walks the member list without building anything.
    let (result, peak) = peak_during(|| read_with(&bytes, false));
    assert_eq!(result.unwrap(), 1);
    assert!(peak < ONE_FRAME, "checking: peak {peak} bytes");
    // Building the record costs a string per member: within the factor of
    // its decoded size spec §6.3.1 states for this implementation.
    let (result, peak) = peak_during(|| read_with(&bytes, true));
    assert_eq!(result.unwrap(), 1);
    let bound = keepsake::limits::DEFAULT_MAX_DECODED_SIZE as usize * 23 / 10 + ONE_FRAME;
    assert!(peak < bound, "building: peak {peak} bytes over {bound}");
}
