//! Rekeying: a copy under a new file key and salt holds the same records,
//! opens only for the keys named, is signed only when asked, keeps a salvage
//! record, and on any failure leaves nothing behind.

use std::fs;
use std::io::Cursor;

use keepsake::{
    ArchiveKey, ArchiveMetadata, ArchiveReader, ArchiveWriter, Conversation, ConversationKind,
    DeliveryStatus, Error, Identity, Limits, Message, MessageKind, Recipient, Record,
    SignatureStatus, SigningKey, WriterOptions, read_summary, rekey, rekey_archive,
};
use proptest::prelude::*;

/// Conversations, each followed by its messages, of the given sizes and texts.
fn records() -> impl Strategy<Value = Vec<Record>> {
    proptest::collection::vec(proptest::collection::vec(".{0,300}", 0..12), 0..6).prop_map(
        |conversations| {
            let mut out = Vec::new();
            for (c, texts) in conversations.into_iter().enumerate() {
                let id = format!("conversation {c}").into_bytes();
                out.push(Record::Conversation(Conversation {
                    id: id.clone(),
                    kind: ConversationKind::Group,
                    created_at_ns: c as i64,
                    name: Some(format!("group {c}")),
                    dm_peer: None,
                    added_by: None,
                    member_ids: vec!["alice".into()],
                    metadata: Default::default(),
                    last_message_ns: None,
                }));
                for (m, text) in texts.into_iter().enumerate() {
                    out.push(Record::Message(Message {
                        id: format!("{c}-{m}").into_bytes(),
                        conversation_id: id.clone(),
                        sender_id: "alice".into(),
                        sender_installation_id: vec![1],
                        sent_at_ns: m as i64,
                        kind: MessageKind::Application,
                        content_type: "xmtp.org/text:1.0".into(),
                        content: text.into_bytes(),
                        delivery_status: DeliveryStatus::Published,
                        reference_id: None,
                        expires_at_ns: None,
                    }));
                }
            }
            out
        },
    )
}

fn metadata() -> ArchiveMetadata {
    ArchiveMetadata {
        creator: "rekey test".to_owned(),
        created_at_ns: 1_700_000_000_000_000_000,
        ..ArchiveMetadata::now()
    }
}

fn write(records: &[Record], keys: &[&ArchiveKey], signing_key: Option<SigningKey>) -> Vec<u8> {
    let options = WriterOptions {
        chunk_size: 4096,
        signing_key,
        ..WriterOptions::default()
    };
    let mut writer = ArchiveWriter::new(Vec::new(), keys, &metadata(), &options).unwrap();
    for record in records {
        writer.write_record(record).unwrap();
    }
    writer.finish().unwrap().0
}

fn read(bytes: &[u8], identity: Identity) -> Result<(ArchiveMetadata, Vec<Record>), Error> {
    let mut reader = ArchiveReader::new(bytes, &[identity], Limits::default())?;
    let mut out = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        out.extend(batch);
    }
    Ok((reader.metadata().clone(), out))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn a_rekeyed_copy_holds_the_same_records_and_shuts_out_every_other_key(
        records in records(),
        sign in any::<bool>(),
    ) {
        let kept = ArchiveKey::from_bytes([1; 32]);
        let revoked = ArchiveKey::from_bytes([2; 32]);
        let signer = SigningKey::from_bytes([3; 32]);
        let original = write(&records, &[&kept, &revoked], Some(signer.clone()));
        let old_file_key = read_summary(Cursor::new(&original), &[revoked.clone().into()], Limits::default())
            .unwrap()
            .opened;

        let signing = sign.then_some(&signer);
        let (copy, report) = rekey(
            &original[..],
            &[revoked.clone().into()],
            &[Recipient::raw_key(kept.clone())],
            signing,
            Vec::new(),
        )
        .unwrap();
        prop_assert_eq!(report.source_signature, SignatureStatus::Valid(signer.signer()));
        let (copied_metadata, copied) = read(&copy, kept.clone().into()).unwrap();
        prop_assert_eq!(&copied, &records);
        prop_assert_eq!(copied_metadata, metadata());
        // Neither the removed key nor the old file key opens the copy.
        prop_assert!(matches!(read(&copy, revoked.clone().into()), Err(Error::WrongKey)));
        prop_assert!(matches!(read(&copy, old_file_key.into()), Err(Error::WrongKey)));
        // A new prelude: new salt, so a new file key and payload key.
        prop_assert_ne!(&copy[20..52], &original[20..52]);
        let summary = read_summary(Cursor::new(&copy), &[kept.clone().into()], Limits::default()).unwrap();
        prop_assert_eq!(summary.key_slots, 1);
        prop_assert_eq!(
            summary.signature,
            if sign { SignatureStatus::Valid(signer.signer()) } else { SignatureStatus::Unsigned }
        );
    }
}

#[test]
fn a_damaged_source_leaves_nothing_under_the_output_name() {
    let key = ArchiveKey::from_bytes([1; 32]);
    let records: Vec<Record> = proptest::strategy::ValueTree::current(
        &proptest::collection::vec(records(), 1)
            .prop_map(|mut all| all.remove(0))
            .prop_filter("some records", |records| records.len() > 3)
            .new_tree(&mut proptest::test_runner::TestRunner::deterministic())
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = write(&records, &[&key], None);
    // The trailer is checked last: records reach the copy before it fails.
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let damaged = dir.path().join("damaged.keepsake");
    fs::write(&damaged, &bytes).unwrap();
    let out = dir.path().join("copy.keepsake");
    let result = rekey_archive(
        &damaged,
        &[key.clone().into()],
        &out,
        &[Recipient::raw_key(key.clone())],
        None,
    );
    assert!(matches!(result, Err(Error::Corrupt { .. })), "{result:?}");
    assert!(!out.exists());
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
    // A wrong key, and an existing output, write nothing either.
    let intact = dir.path().join("intact.keepsake");
    fs::write(&intact, write(&records, &[&key], None)).unwrap();
    let stranger = ArchiveKey::from_bytes([9; 32]);
    assert!(matches!(
        rekey_archive(
            &intact,
            &[stranger.into()],
            &out,
            &[Recipient::raw_key(key.clone())],
            None
        ),
        Err(Error::WrongKey)
    ));
    assert!(!out.exists());
    fs::write(&out, b"mine").unwrap();
    assert!(
        rekey_archive(
            &intact,
            &[key.clone().into()],
            &out,
            &[Recipient::raw_key(key)],
            None
        )
        .is_err()
    );
    assert_eq!(fs::read(&out).unwrap(), b"mine");
}

#[test]
fn a_pages_archive_is_rekeyed_page_for_page() {
    let key = ArchiveKey::from_bytes([1; 32]);
    let new = ArchiveKey::from_bytes([4; 32]);
    let metadata = ArchiveMetadata {
        mode: keepsake::ArchiveMode::Pages,
        ..metadata()
    };
    let options = WriterOptions {
        chunk_size: 4096,
        ..WriterOptions::default()
    };
    let mut writer = ArchiveWriter::new(Vec::new(), &[&key], &metadata, &options).unwrap();
    writer.set_page_geometry(1024, 9).unwrap();
    let pages: Vec<(u32, Vec<u8>)> = [1u32, 2, 3, 5, 8, 9]
        .into_iter()
        .map(|number| (number, vec![number as u8; 1024]))
        .collect();
    for (number, data) in &pages {
        writer.write_page(*number, data).unwrap();
    }
    let original = writer.finish().unwrap().0;
    let (copy, report) = rekey(
        &original[..],
        &[key.clone().into()],
        &[Recipient::raw_key(new.clone())],
        None,
        Vec::new(),
    )
    .unwrap();
    assert_eq!(report.trailer.pages, 6);
    let mut reader = ArchiveReader::new(&copy[..], &[new.into()], Limits::default()).unwrap();
    assert_eq!(reader.metadata(), &metadata);
    let mut copied = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        let keepsake::Item::Pages(batch) = item else {
            panic!("a record batch in a pages archive")
        };
        assert_eq!((batch.page_size, batch.database_pages), (1024, 9));
        copied.extend(batch.pages.into_iter().map(|page| (page.number, page.data)));
    }
    assert_eq!(copied, pages);
    assert!(matches!(
        ArchiveReader::new(&copy[..], &[key.into()], Limits::default()),
        Err(Error::WrongKey)
    ));
}
