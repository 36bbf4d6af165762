//! The records an archive carries and their encoding in chunk bodies (spec §6).
//!
//! Records are postcard-encoded; a record batch is a schema version followed
//! by length-prefixed records, so a reader checks each record's length against
//! the header's limit before decoding it. Encodings are canonical: a reader
//! walks each record's bytes, which must be the one encoding of a record, and
//! adds up the batch's decoded size (spec §6.3.1) before building anything.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Limit, Result};
use crate::limits::record_decoded_size;

mod scan;

#[cfg(any(test, feature = "proptest"))]
pub mod strategy;

pub(crate) use scan::{Scanned, ScannedRecord};

/// The record schema version this crate writes and reads (spec §6.3).
pub const RECORD_SCHEMA: u32 = 1;

/// Whether a conversation is a group or a direct message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConversationKind {
    /// A group conversation.
    Group,
    /// A one-to-one conversation.
    Dm,
}

/// A conversation (group or DM) and what an app needs to show it after restore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// The conversation id.
    #[serde(with = "serde_bytes")]
    pub id: Vec<u8>,
    /// Group or DM.
    pub kind: ConversationKind,
    /// When the conversation was created, in nanoseconds since the Unix epoch.
    pub created_at_ns: i64,
    /// The group name, if any.
    pub name: Option<String>,
    /// For a DM, the other party's id.
    pub dm_peer: Option<String>,
    /// Who added this installation to the conversation, if known.
    pub added_by: Option<String>,
    /// The member ids, as the source database lists them.
    pub member_ids: Vec<String>,
    /// Free-form metadata (description, image URL, …), ordered by key.
    pub metadata: BTreeMap<String, String>,
    /// When the last message was sent, in nanoseconds since the Unix epoch.
    pub last_message_ns: Option<i64>,
}

/// What a message is: content from a member or a change to the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageKind {
    /// Content sent by a member.
    Application,
    /// A membership change recorded in the conversation.
    MembershipChange,
}

/// Whether a message reached the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeliveryStatus {
    /// Sent and acknowledged.
    Published,
    /// Written locally, not yet sent.
    Unpublished,
    /// Sending failed.
    Failed,
}

/// One message in a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The message id.
    #[serde(with = "serde_bytes")]
    pub id: Vec<u8>,
    /// The conversation it belongs to; that conversation's record comes first.
    #[serde(with = "serde_bytes")]
    pub conversation_id: Vec<u8>,
    /// The sender's id.
    pub sender_id: String,
    /// The sending installation's id.
    #[serde(with = "serde_bytes")]
    pub sender_installation_id: Vec<u8>,
    /// When it was sent, in nanoseconds since the Unix epoch.
    pub sent_at_ns: i64,
    /// Application content or a membership change.
    pub kind: MessageKind,
    /// The content type, such as `xmtp.org/text:1.0`.
    pub content_type: String,
    /// The encoded content, opaque to Keepsake.
    #[serde(with = "serde_bytes")]
    pub content: Vec<u8>,
    /// Whether it reached the network.
    pub delivery_status: DeliveryStatus,
    /// The message this one refers to (a reply or reaction), if any.
    #[serde(with = "serde_bytes")]
    pub reference_id: Option<Vec<u8>>,
    /// When it expires, in nanoseconds since the Unix epoch, if it does.
    pub expires_at_ns: Option<i64>,
}

/// What a consent record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ConsentEntityType {
    /// A conversation id (hex).
    Conversation,
    /// An inbox id.
    Inbox,
    /// An account address.
    Address,
}

/// A consent decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConsentState {
    /// No decision yet.
    Unknown,
    /// The user allows this entity.
    Allowed,
    /// The user blocks this entity.
    Denied,
}

/// One consent preference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// What kind of entity.
    pub entity_type: ConsentEntityType,
    /// The entity.
    pub entity: String,
    /// The decision.
    pub state: ConsentState,
    /// When the decision was made, in nanoseconds since the Unix epoch.
    pub updated_at_ns: i64,
}

/// Any record an archive carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// A conversation.
    Conversation(Conversation),
    /// A message.
    Message(Message),
    /// A consent preference.
    Consent(Consent),
}

impl Record {
    /// How many string and byte-string values the record holds: the fields
    /// that always hold one, each optional one present, each member id, and
    /// each key and each value of the metadata. Its decoded size counts them
    /// (spec §6.3.1).
    pub fn values(&self) -> u64 {
        fn present<T>(value: &Option<T>) -> u64 {
            u64::from(value.is_some())
        }
        match self {
            Record::Conversation(conversation) => {
                1 + present(&conversation.name)
                    + present(&conversation.dm_peer)
                    + present(&conversation.added_by)
                    + conversation.member_ids.len() as u64
                    + 2 * conversation.metadata.len() as u64
            }
            Record::Message(message) => 6 + present(&message.reference_id),
            Record::Consent(_) => 1,
        }
    }
}

/// What an archive holds: rows of records, or the pages of a whole database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArchiveMode {
    /// Record batches (conversations, messages, consent).
    Records,
    /// SQLite page batches: a whole-database snapshot.
    Pages,
}

/// Which kinds of data the creator asked for. Conversations travel whenever
/// messages do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Elements {
    /// Conversations and their messages.
    pub messages: bool,
    /// Consent preferences.
    pub consent: bool,
}

impl Default for Elements {
    fn default() -> Self {
        Elements {
            messages: true,
            consent: true,
        }
    }
}

/// The metadata chunk's body (spec §6.2): what the creator asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveMetadata {
    /// Rows or pages.
    pub mode: ArchiveMode,
    /// When the archive was created, in nanoseconds since the Unix epoch.
    pub created_at_ns: i64,
    /// The kinds of data requested.
    pub elements: Elements,
    /// Start of the requested message time range (inclusive), if any.
    pub start_ns: Option<i64>,
    /// End of the requested message time range (exclusive), if any.
    pub end_ns: Option<i64>,
    /// The software that wrote the archive, such as `keepsake 0.1.0`.
    pub creator: String,
}

impl ArchiveMetadata {
    /// Metadata for a record archive created now with everything included.
    pub fn now() -> Self {
        ArchiveMetadata {
            mode: ArchiveMode::Records,
            created_at_ns: now_ns(),
            elements: Elements::default(),
            start_ns: None,
            end_ns: None,
            creator: concat!("keepsake ", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// The current time in nanoseconds since the Unix epoch (saturating).
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Lower-case hexadecimal: how a consent record names a conversation, and
/// how messages show ids.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Encodes `value` with postcard, appending to `out`.
pub fn encode_into<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<()> {
    let bytes = postcard::to_extend(value, std::mem::take(out))
        .map_err(|error| Error::invalid(format!("a value cannot be encoded: {error}")))?;
    *out = bytes;
    Ok(())
}

/// Decodes exactly `bytes` as one canonical postcard value: trailing bytes or
/// a non-canonical encoding (an over-long integer) is damage to chunk `chunk`.
pub fn decode_exact<T: Serialize + for<'de> Deserialize<'de>>(
    bytes: &[u8],
    chunk: u64,
    what: &str,
) -> Result<T> {
    decode_canonical(bytes, chunk, what)
}

/// As [`decode_exact`]; `T` may borrow from `bytes`.
fn decode_canonical<'a, T: Serialize + Deserialize<'a>>(
    bytes: &'a [u8],
    chunk: u64,
    what: &str,
) -> Result<T> {
    let (value, rest) = postcard::take_from_bytes::<T>(bytes)
        .map_err(|error| Error::corrupt(chunk, format!("{what} does not decode: {error}")))?;
    if !rest.is_empty() {
        return Err(Error::corrupt(
            chunk,
            format!("{what} is followed by {} unexpected bytes", rest.len()),
        ));
    }
    // Re-encoded, the value must give back exactly the bytes it came from.
    if postcard::serialize_with_flavor(&value, Matching(bytes)) != Ok(true) {
        return Err(Error::corrupt(
            chunk,
            format!("{what} is not canonically encoded"),
        ));
    }
    Ok(value)
}

/// An encoding destination that writes nothing and compares each byte with
/// the bytes a value was decoded from, stopping at the first difference:
/// `Ok(true)` when the encoding is exactly those bytes.
struct Matching<'a>(&'a [u8]);

impl postcard::ser_flavors::Flavor for Matching<'_> {
    type Output = bool;

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        let Some((head, rest)) = self.0.split_at_checked(data.len()) else {
            return Err(postcard::Error::SerializeBufferFull);
        };
        // A value that borrows from the bytes hands back the very slice it
        // was decoded from: nothing to compare. Integers come a few bytes
        // at a time, too few to be worth a call to compare them.
        let same = std::ptr::eq(head.as_ptr(), data.as_ptr())
            || if data.len() <= 16 {
                head.iter().zip(data).all(|(a, b)| a == b)
            } else {
                head == data
            };
        if !same {
            return Err(postcard::Error::SerializeBufferFull);
        }
        self.0 = rest;
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        match self.0.split_first() {
            Some((&first, rest)) if first == data => {
                self.0 = rest;
                Ok(())
            }
            _ => Err(postcard::Error::SerializeBufferFull),
        }
    }

    fn finalize(self) -> postcard::Result<bool> {
        Ok(self.0.is_empty())
    }
}

/// Appends an unsigned LEB128 varint, as postcard writes integers.
pub fn push_varint(mut value: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The encoded length of `value` as a varint.
pub fn varint_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

/// Reads a canonical varint of at most 32 bits from the front of `bytes`.
fn take_varint_u32<'a>(bytes: &'a [u8], chunk: u64, what: &str) -> Result<(u32, &'a [u8])> {
    let mut value: u64 = 0;
    for (i, &byte) in bytes.iter().enumerate().take(5) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let canonical = i == 0 || byte != 0;
            return match u32::try_from(value) {
                Ok(value) if canonical => Ok((value, &bytes[i + 1..])),
                _ => Err(Error::corrupt(
                    chunk,
                    format!("{what} is not a valid varint"),
                )),
            };
        }
    }
    Err(Error::corrupt(
        chunk,
        format!("{what} is cut short or over-long"),
    ))
}

/// Builds a record batch body (spec §6.3): the schema version, then each
/// record as a varint length and its postcard encoding.
#[derive(Debug)]
pub struct BatchBuilder {
    body: Vec<u8>,
    records: usize,
}

impl BatchBuilder {
    /// An empty batch.
    pub fn new() -> Self {
        let mut body = Vec::new();
        push_varint(u64::from(RECORD_SCHEMA), &mut body);
        BatchBuilder { body, records: 0 }
    }

    /// The batch's encoded length so far.
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// Whether no record has been added.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// How many records are in the batch.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Appends an already-encoded record.
    pub fn push_encoded(&mut self, record: &[u8]) {
        push_varint(record.len() as u64, &mut self.body);
        self.body.extend_from_slice(record);
        self.records += 1;
    }

    /// The finished body, leaving the builder empty for the next batch.
    pub fn take(&mut self) -> Vec<u8> {
        self.take_reusing(Vec::new())
    }

    /// As [`take`](BatchBuilder::take), building the next batch in `buffer`,
    /// whose content is dropped and whose allocation is reused.
    pub(crate) fn take_reusing(&mut self, mut buffer: Vec<u8>) -> Vec<u8> {
        buffer.clear();
        push_varint(u64::from(RECORD_SCHEMA), &mut buffer);
        self.records = 0;
        std::mem::replace(&mut self.body, buffer)
    }
}

impl Default for BatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// Encodes one record on its own, as it stands inside a batch after its length.
pub fn encode_record(record: &Record) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_into(record, &mut out)?;
    Ok(out)
}

/// The limits a record batch is decoded under (spec §6.3.1): the header's
/// `max_record_size` and the reader's decoded-size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// The largest record entry, from the archive's header.
    pub max_record_size: u32,
    /// The largest decoded size of the batch, from the reader's limits.
    pub max_decoded_size: u64,
}

impl BatchLimits {
    /// No limit but the record size: for batches this process wrote itself.
    pub fn record_size_only(max_record_size: u32) -> Self {
        BatchLimits {
            max_record_size,
            max_decoded_size: u64::MAX,
        }
    }
}

/// What checking a whole record batch found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckedBatch {
    /// How many records it holds.
    pub records: u64,
    /// Its decoded size (spec §6.3.1).
    pub decoded_size: u64,
}

/// Decodes a record batch body from chunk `chunk`: checks it as
/// [`check_batch`] does, and only then builds its records.
pub fn decode_batch(body: &[u8], chunk: u64, limits: BatchLimits) -> Result<Vec<Record>> {
    let checked = check_batch(body, chunk, limits, |_, _| {})?;
    materialise_batch(body, chunk, checked.records)
}

/// Checks a record batch body (spec §6.3.1): the schema version, each
/// entry's length against `max_record_size`, each record's canonical
/// encoding, and the running decoded size against `max_decoded_size`, each
/// before anything is allocated for the record. Each record is handed to
/// `each`, with its entry's offset in `body`, as the fields its walk found.
pub(crate) fn check_batch<'a>(
    body: &'a [u8],
    chunk: u64,
    limits: BatchLimits,
    mut each: impl FnMut(usize, ScannedRecord<'a>),
) -> Result<CheckedBatch> {
    let mut checked = CheckedBatch {
        records: 0,
        decoded_size: 0,
    };
    for_each_entry(body, chunk, limits.max_record_size, |at, entry| {
        let record = scan::scan_record(entry)
            .ok_or_else(|| Error::corrupt(chunk, "a record is not one canonical encoding"))?;
        checked.decoded_size = checked
            .decoded_size
            .saturating_add(record_decoded_size(entry.len(), record.values));
        if checked.decoded_size > limits.max_decoded_size {
            return Err(Error::LimitExceeded {
                what: Limit::DecodedSize,
                value: checked.decoded_size,
                limit: limits.max_decoded_size,
            });
        }
        checked.records += 1;
        each(at, record);
        Ok(())
    })?;
    Ok(checked)
}

/// Builds the `records` records of a batch that [`check_batch`] accepted.
pub(crate) fn materialise_batch(body: &[u8], chunk: u64, records: u64) -> Result<Vec<Record>> {
    // The check bounded the count by the decoded size, itself bounded.
    let mut out = Vec::with_capacity(usize::try_from(records).unwrap_or(0));
    for_each_entry(body, chunk, u32::MAX, |_, entry| {
        // A checked entry is canonical: decoding it cannot fail.
        out.push(postcard::from_bytes(entry).map_err(|error| {
            Error::corrupt(chunk, format!("a record does not decode: {error}"))
        })?);
        Ok(())
    })?;
    Ok(out)
}

/// Walks a record batch body (spec §6.3.1): checks the schema version, then
/// hands `each` the offset and bytes of every entry's record after checking
/// its length prefix.
fn for_each_entry<'a>(
    body: &'a [u8],
    chunk: u64,
    max_record_size: u32,
    mut each: impl FnMut(usize, &'a [u8]) -> Result<()>,
) -> Result<()> {
    let (schema, mut rest) = take_varint_u32(body, chunk, "the batch schema version")?;
    if schema != RECORD_SCHEMA {
        return Err(Error::corrupt(
            chunk,
            format!(
                "record schema version {schema} is not known (this reader knows {RECORD_SCHEMA})"
            ),
        ));
    }
    if rest.is_empty() {
        return Err(Error::corrupt(chunk, "a record batch holds no records"));
    }
    while !rest.is_empty() {
        let (len, after) = take_varint_u32(rest, chunk, "a record length")?;
        if len > max_record_size {
            return Err(Error::LimitExceeded {
                what: Limit::RecordSize,
                value: u64::from(len),
                limit: u64::from(max_record_size),
            });
        }
        let len = len as usize;
        if after.len() < len {
            return Err(Error::corrupt(
                chunk,
                "a record runs past the end of its batch",
            ));
        }
        each(body.len() - after.len(), &after[..len])?;
        rest = &after[len..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::strategy::records;
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn batches_round_trip(records in records()) {
            prop_assume!(!records.is_empty());
            let mut batch = BatchBuilder::new();
            for record in &records {
                batch.push_encoded(&encode_record(record).unwrap());
            }
            let body = batch.take();
            prop_assert_eq!(decode_batch(&body, 3, BatchLimits::record_size_only(u32::MAX)).unwrap(), records);
        }

        #[test]
        fn varints_round_trip(value in any::<u32>()) {
            let mut out = Vec::new();
            push_varint(u64::from(value), &mut out);
            prop_assert_eq!(out.len(), varint_len(u64::from(value)));
            let (back, rest) = take_varint_u32(&out, 0, "v").unwrap();
            prop_assert_eq!(back, value);
            prop_assert!(rest.is_empty());
        }

        /// The decoded size a reader adds up from the bytes is the one a
        /// writer computes from the records it encodes.
        #[test]
        fn the_decoded_size_read_is_the_one_written(records in records()) {
            prop_assume!(!records.is_empty());
            let mut batch = BatchBuilder::new();
            let mut expected = 0;
            for record in &records {
                let encoded = encode_record(record).unwrap();
                expected += record_decoded_size(encoded.len(), record.values());
                batch.push_encoded(&encoded);
            }
            let body = batch.take();
            let limits = BatchLimits { max_record_size: u32::MAX, max_decoded_size: expected };
            let checked = check_batch(&body, 3, limits, |_, _| {}).unwrap();
            prop_assert_eq!(checked, CheckedBatch { records: records.len() as u64, decoded_size: expected });
            let tighter = BatchLimits { max_decoded_size: expected - 1, ..limits };
            let refused = matches!(
                decode_batch(&body, 3, tighter),
                Err(Error::LimitExceeded { what: Limit::DecodedSize, value, limit })
                    if value == expected && limit == expected - 1
            );
            prop_assert!(refused);
        }

        #[test]
        fn garbage_batches_never_panic(body in vec(any::<u8>(), 0..200)) {
            let _ = decode_batch(&body, 0, BatchLimits::record_size_only(64));
        }
    }

    #[test]
    fn a_record_over_the_limit_is_refused_before_decoding() {
        let record = Record::Consent(Consent {
            entity_type: ConsentEntityType::Inbox,
            entity: "x".repeat(100),
            state: ConsentState::Allowed,
            updated_at_ns: 1,
        });
        let mut batch = BatchBuilder::new();
        batch.push_encoded(&encode_record(&record).unwrap());
        let body = batch.take();
        assert!(matches!(
            decode_batch(&body, 0, BatchLimits::record_size_only(50)),
            Err(Error::LimitExceeded {
                what: Limit::RecordSize,
                ..
            })
        ));
        let mut huge = Vec::new();
        push_varint(1, &mut huge);
        push_varint(u64::from(u32::MAX), &mut huge);
        assert!(matches!(
            decode_batch(&huge, 0, BatchLimits::record_size_only(1 << 20)),
            Err(Error::LimitExceeded {
                what: Limit::RecordSize,
                ..
            })
        ));
    }

    /// A conversation with `members` empty member ids: `members + 1` values.
    fn crowded(id: u8, members: usize) -> Record {
        Record::Conversation(Conversation {
            id: vec![id],
            kind: ConversationKind::Group,
            created_at_ns: 0,
            name: None,
            dm_peer: None,
            added_by: None,
            member_ids: vec![String::new(); members],
            metadata: BTreeMap::new(),
            last_message_ns: None,
        })
    }

    fn body_of(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut batch = BatchBuilder::new();
        entries.iter().for_each(|entry| batch.push_encoded(entry));
        batch.take()
    }

    #[test]
    fn the_decoded_size_is_the_batch_total_and_stops_at_the_first_record_over_it() {
        let first = encode_record(&crowded(1, 1000)).unwrap();
        let second = encode_record(&crowded(2, 1000)).unwrap();
        // 1000 empty strings take 1000 bytes and count 32 each.
        let one = record_decoded_size(first.len(), 1001);
        assert_eq!(one, 256 + first.len() as u64 + 32 * 1001);
        let body = body_of(&[first.clone(), second.clone()]);
        let limits = |max_decoded_size| BatchLimits {
            max_record_size: u32::MAX,
            max_decoded_size,
        };
        assert_eq!(decode_batch(&body, 5, limits(2 * one)).unwrap().len(), 2);
        // Each record alone fits; together they do not.
        match decode_batch(&body, 5, limits(2 * one - 1)) {
            Err(Error::LimitExceeded {
                what: Limit::DecodedSize,
                value,
                ..
            }) => assert_eq!(value, 2 * one),
            other => panic!("expected the decoded-size limit, got {other:?}"),
        }
        // The size is checked record by record, in order: a record that breaks
        // the limit is reported even when a damaged one follows it...
        let damaged = vec![0xff];
        let body = body_of(&[first.clone(), second.clone(), damaged.clone()]);
        assert!(matches!(
            decode_batch(&body, 5, limits(one)),
            Err(Error::LimitExceeded { .. })
        ));
        // ...and a damaged record before it is reported first.
        let body = body_of(&[first, damaged, second]);
        assert!(matches!(
            decode_batch(&body, 5, limits(one)),
            Err(Error::Corrupt { chunk: 5, .. })
        ));
    }

    #[test]
    fn an_over_long_varint_is_damage() {
        // 1 encoded in two bytes instead of one.
        let body = [0x81, 0x00];
        assert!(matches!(
            decode_batch(&body, 4, BatchLimits::record_size_only(64)),
            Err(Error::Corrupt { chunk: 4, .. })
        ));
    }

    #[test]
    fn a_non_canonical_record_is_damage() {
        let record = Record::Consent(Consent {
            entity_type: ConsentEntityType::Inbox,
            entity: String::new(),
            state: ConsentState::Allowed,
            updated_at_ns: 0,
        });
        let mut encoded = encode_record(&record).unwrap();
        // The timestamp is the last field: zigzag 0 is one byte 0x00; write it as 0x80 0x00.
        let last = encoded.len() - 1;
        encoded[last] = 0x80;
        encoded.push(0x00);
        let mut batch = BatchBuilder::new();
        batch.push_encoded(&encoded);
        let body = batch.take();
        match decode_batch(&body, 2, BatchLimits::record_size_only(64)) {
            Err(Error::Corrupt { chunk: 2, reason }) => {
                assert!(reason.contains("canonical"), "{reason}")
            }
            other => panic!("expected a canonical-encoding error, got {other:?}"),
        }
    }
}
