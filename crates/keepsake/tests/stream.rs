//! The streaming writer and reader end to end: round trips, every byte
//! offset cut, every bit flipped, and the sans-I/O decoder fed in pieces.

use keepsake::{
    ArchiveKey, ArchiveMetadata, ArchiveReader, ArchiveWriter, Consent, ConsentEntityType,
    ConsentState, Conversation, ConversationKind, Decoder, DeliveryStatus, Error, Event, Identity,
    Limits, Message, MessageKind, Record, WriterOptions, read_summary,
};
use proptest::prelude::*;
use rand::SeedableRng;
use std::collections::BTreeMap;

fn key(byte: u8) -> ArchiveKey {
    ArchiveKey::from_bytes([byte; 32])
}

fn metadata() -> ArchiveMetadata {
    let mut metadata = ArchiveMetadata::now();
    metadata.created_at_ns = 1_700_000_000_000_000_000;
    metadata
}

fn small_chunks() -> WriterOptions {
    WriterOptions {
        chunk_size: 4096,
        level: 3,
        threads: 1,
        signing_key: None,
    }
}

fn write(records: &[Record], options: &WriterOptions, seed: u64) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let mut writer =
        ArchiveWriter::with_rng(Vec::new(), &[&key(7)], &metadata(), options, &mut rng).unwrap();
    for record in records {
        writer.write_record(record).unwrap();
    }
    writer.finish().unwrap().0
}

fn read_all(bytes: &[u8], key: &ArchiveKey) -> Result<Vec<Record>, Error> {
    let mut reader =
        ArchiveReader::new(bytes, &[Identity::RawKey(key.clone())], Limits::default())?;
    let mut records = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        records.extend(batch);
    }
    Ok(records)
}

/// A conversation with `messages` messages of mixed content, then consent.
fn sample(conversations: usize, messages: usize) -> Vec<Record> {
    let mut records = Vec::new();
    for c in 0..conversations {
        let id = vec![c as u8, 0xAB, 0x00];
        records.push(Record::Conversation(Conversation {
            id: id.clone(),
            kind: if c % 2 == 0 {
                ConversationKind::Group
            } else {
                ConversationKind::Dm
            },
            created_at_ns: c as i64,
            name: Some(format!("グループ {c} 🎉")),
            dm_peer: None,
            added_by: Some(String::new()),
            member_ids: vec!["alice".into(), "بوب".into()],
            metadata: BTreeMap::from([("description".into(), "x".into())]),
            last_message_ns: Some(i64::MAX),
        }));
        for m in 0..messages {
            records.push(Record::Message(Message {
                id: format!("{c}-{m}").into_bytes(),
                conversation_id: id.clone(),
                sender_id: "alice".into(),
                sender_installation_id: vec![0, 255, 1],
                sent_at_ns: (m as i64 - 3) * 1_000_000_007,
                kind: MessageKind::Application,
                content_type: "xmtp.org/text:1.0".into(),
                content: format!("message {m} in {c}: {}", "lorem ipsum ".repeat(m % 9))
                    .into_bytes(),
                delivery_status: DeliveryStatus::Published,
                reference_id: (m % 3 == 0).then(|| vec![1, 2]),
                expires_at_ns: None,
            }));
        }
    }
    records.push(Record::Consent(Consent {
        entity_type: ConsentEntityType::Inbox,
        entity: "alice".into(),
        state: ConsentState::Allowed,
        updated_at_ns: -1,
    }));
    records
}

#[test]
fn an_empty_archive_round_trips() {
    let bytes = write(&[], &WriterOptions::default(), 1);
    assert_eq!(read_all(&bytes, &key(7)).unwrap(), Vec::<Record>::new());
    let summary = read_summary(
        std::io::Cursor::new(&bytes),
        &[key(7).into()],
        Limits::default(),
    )
    .unwrap();
    let trailer = summary.trailer.unwrap();
    assert_eq!(
        (trailer.conversations, trailer.messages, trailer.consent),
        (0, 0, 0)
    );
    // The metadata chunk and the seek index.
    assert_eq!(trailer.chunk_count, 2);
    assert_eq!(trailer.index_chunk, 1);
    assert_eq!(trailer.time_range, None);
}

#[test]
fn many_chunks_round_trip_and_the_summary_matches() {
    let records = sample(4, 120);
    let bytes = write(&records, &small_chunks(), 2);
    let mut reader = ArchiveReader::new(&bytes[..], &[key(7).into()], Limits::default()).unwrap();
    let mut back = Vec::new();
    while let Some(batch) = reader.next_batch().unwrap() {
        back.extend(batch);
    }
    assert_eq!(back, records);
    let trailer = reader.trailer().unwrap().clone();
    assert!(trailer.chunk_count > 5, "{} chunks", trailer.chunk_count);
    assert_eq!(
        (trailer.conversations, trailer.messages, trailer.consent),
        (4, 480, 1)
    );
    assert_eq!(
        trailer.time_range,
        Some((-3_000_000_021, 116 * 1_000_000_007))
    );
    let summary = read_summary(
        std::io::Cursor::new(&bytes),
        &[key(7).into()],
        Limits::default(),
    )
    .unwrap();
    assert_eq!(summary.trailer, Some(trailer));
    assert_eq!(summary.archive_bytes, bytes.len() as u64);
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let records = sample(2, 30);
    assert_eq!(
        write(&records, &small_chunks(), 5),
        write(&records, &small_chunks(), 5)
    );
    assert_ne!(
        write(&records, &small_chunks(), 5),
        write(&records, &small_chunks(), 6)
    );
}

#[test]
fn a_wrong_key_is_wrong_key() {
    let bytes = write(&sample(1, 3), &WriterOptions::default(), 3);
    assert!(matches!(read_all(&bytes, &key(8)), Err(Error::WrongKey)));
}

#[test]
fn records_out_of_dependency_order_are_refused_by_the_writer() {
    let records = sample(1, 1);
    let mut writer = ArchiveWriter::new(
        Vec::new(),
        &[&key(1)],
        &metadata(),
        &WriterOptions::default(),
    )
    .unwrap();
    assert!(matches!(
        writer.write_record(&records[1]),
        Err(Error::InvalidInput { .. })
    ));
    writer.write_record(&records[0]).unwrap();
    assert!(matches!(
        writer.write_record(&records[0]),
        Err(Error::InvalidInput { .. })
    ));
}

#[test]
fn a_record_larger_than_a_chunk_is_refused() {
    let mut records = sample(1, 1);
    if let Record::Message(message) = &mut records[1] {
        message.content = vec![0; 5000];
    }
    let mut writer =
        ArchiveWriter::new(Vec::new(), &[&key(1)], &metadata(), &small_chunks()).unwrap();
    writer.write_record(&records[0]).unwrap();
    assert!(matches!(
        writer.write_record(&records[1]),
        Err(Error::LimitExceeded { .. })
    ));
}

#[test]
fn bytes_after_the_final_chunk_are_trailing_data() {
    let mut bytes = write(&sample(1, 3), &WriterOptions::default(), 4);
    let end = bytes.len() as u64;
    bytes.push(0);
    assert!(
        matches!(read_all(&bytes, &key(7)), Err(Error::TrailingData { offset }) if offset == end)
    );
}

#[test]
fn a_cut_at_every_offset_is_truncation_never_success() {
    let bytes = write(&sample(2, 40), &small_chunks(), 9);
    let header_len = {
        let reader = ArchiveReader::new(&bytes[..], &[key(7).into()], Limits::default()).unwrap();
        reader.header().header_len
    };
    for cut in 0..bytes.len() {
        match read_all(&bytes[..cut], &key(7)) {
            Err(Error::Truncated { offset }) => assert_eq!(offset, cut as u64),
            Err(Error::NotAnArchive) if cut == 0 => {}
            other => panic!("cut at {cut} (header is {header_len} bytes): {other:?}"),
        }
    }
}

/// The class of error a flipped bit at `offset` must produce.
fn flip_is_caught(result: Result<Vec<Record>, Error>, offset: usize, header_len: usize) {
    match result {
        Ok(_) => panic!("a bit flipped at byte {offset} went unnoticed"),
        Err(Error::NotAnArchive) => assert!(offset < 8),
        Err(Error::UnsupportedVersion { .. }) => assert!((8..10).contains(&offset)),
        Err(Error::HeaderCorrupt { .. }) => assert!(offset < header_len, "{offset}"),
        Err(Error::Corrupt { .. }) | Err(Error::LimitExceeded { .. }) => {
            assert!(offset >= header_len, "{offset}")
        }
        Err(other) => panic!("a bit flipped at byte {offset} gave {other:?}"),
    }
}

#[test]
fn a_bit_flipped_anywhere_is_rejected_with_the_right_class() {
    let bytes = write(
        &sample(2, 6),
        &WriterOptions {
            chunk_size: 4096,
            level: 3,
            threads: 2,
            signing_key: None,
        },
        10,
    );
    let header_len = ArchiveReader::new(&bytes[..], &[key(7).into()], Limits::default())
        .unwrap()
        .header()
        .header_len;
    for offset in 0..bytes.len() {
        for bit in 0..8 {
            let mut damaged = bytes.clone();
            damaged[offset] ^= 1 << bit;
            flip_is_caught(read_all(&damaged, &key(7)), offset, header_len);
        }
    }
}

/// Every event the decoder gives when fed `chunks` of the input in turn.
fn events_fed_in_pieces(bytes: &[u8], piece: usize) -> Result<Vec<Event>, Error> {
    let mut decoder = Decoder::new(&[key(7).into()], Limits::default());
    let mut events = Vec::new();
    for mut input in bytes.chunks(piece) {
        while !input.is_empty() {
            let (used, event) = decoder.feed(input)?;
            input = &input[used..];
            events.extend(event);
        }
    }
    decoder.finish()?;
    Ok(events)
}

#[test]
fn feeding_byte_by_byte_gives_the_same_events_as_feeding_whole() {
    let bytes = write(&sample(3, 30), &small_chunks(), 11);
    let whole = events_fed_in_pieces(&bytes, bytes.len()).unwrap();
    assert!(matches!(whole.last(), Some(Event::End(_))));
    for piece in [1, 2, 7, 18, 4096] {
        assert_eq!(
            events_fed_in_pieces(&bytes, piece).unwrap(),
            whole,
            "pieces of {piece}"
        );
    }
}

#[test]
fn a_header_declaring_more_than_the_reader_allows_is_a_limit() {
    let bytes = write(&sample(1, 1), &WriterOptions::default(), 12);
    let strict = Limits {
        max_chunk_size: 4096,
        max_record_size: 4096,
        ..Limits::default()
    };
    assert!(matches!(
        ArchiveReader::new(&bytes[..], &[key(7).into()], strict),
        Err(Error::LimitExceeded { .. })
    ));
}

#[test]
fn any_of_several_keys_opens_the_archive() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(13);
    let records = sample(1, 2);
    let mut writer = ArchiveWriter::with_rng(
        Vec::new(),
        &[&key(1), &key(2)],
        &metadata(),
        &WriterOptions::default(),
        &mut rng,
    )
    .unwrap();
    for record in &records {
        writer.write_record(record).unwrap();
    }
    let bytes = writer.finish().unwrap().0;
    assert_eq!(read_all(&bytes, &key(1)).unwrap(), records);
    assert_eq!(read_all(&bytes, &key(2)).unwrap(), records);
    assert!(matches!(read_all(&bytes, &key(3)), Err(Error::WrongKey)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn writer_then_reader_is_identity(conversations in 0usize..4, messages in 0usize..60, seed in any::<u64>(), chunk_size in 4096u32..20_000, level in 1i32..6) {
        let records = sample(conversations, messages);
        let options = WriterOptions { chunk_size, level, threads: 1 + (seed % 3) as usize, signing_key: None };
        let bytes = write(&records, &options, seed);
        prop_assert_eq!(read_all(&bytes, &key(7)).unwrap(), records);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = events_fed_in_pieces(&bytes, 7);
    }
}

/// Reads with `threads` workers: the records, or the error's description.
fn read_with_threads(bytes: &[u8], threads: usize) -> Result<Vec<Record>, String> {
    let run = || -> Result<Vec<Record>, Error> {
        let mut reader =
            ArchiveReader::with_threads(bytes, &[key(7).into()], Limits::default(), threads)?;
        let mut records = Vec::new();
        while let Some(batch) = reader.next_batch()? {
            records.extend(batch);
        }
        Ok(records)
    };
    run().map_err(|error| format!("{error:?}"))
}

#[test]
fn parallel_reading_gives_exactly_the_sequential_outcome() {
    let bytes = write(&sample(3, 60), &small_chunks(), 14);
    let whole = read_with_threads(&bytes, 1).unwrap();
    for threads in [2, 3, 8] {
        assert_eq!(read_with_threads(&bytes, threads).unwrap(), whole);
    }
    // Damage early, in the middle and late; cuts everywhere in steps.
    let mut damaged = Vec::new();
    for offset in [
        200,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 600,
        bytes.len() - 5,
    ] {
        let mut copy = bytes.clone();
        copy[offset] ^= 0x10;
        damaged.push(copy);
    }
    for cut in (0..bytes.len()).step_by(97) {
        damaged.push(bytes[..cut].to_vec());
    }
    let mut extended = bytes.clone();
    extended.extend_from_slice(b"more");
    damaged.push(extended);
    for input in &damaged {
        let sequential = read_with_threads(input, 1);
        assert!(sequential.is_err());
        assert_eq!(read_with_threads(input, 4), sequential);
    }
}

#[test]
fn the_bytes_written_do_not_depend_on_the_number_of_threads() {
    let records = sample(4, 200);
    let one = write(&records, &small_chunks(), 15);
    for threads in [2, 3, 8] {
        let options = WriterOptions {
            threads,
            ..small_chunks()
        };
        assert_eq!(write(&records, &options, 15), one, "{threads} threads");
    }
}
