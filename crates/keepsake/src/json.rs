//! The JSON form of records, metadata and trailers, as `test-vectors/README.md`
//! defines it: what crosses into other languages (the vectors' records files,
//! the C ABI, anything an SDK exchanges as text).
//!
//! Byte strings are lower-case hexadecimal (`""` when empty, so `null` and
//! `""` stay distinct), timestamps (`*_ns` fields and a trailer's time range)
//! decimal strings, since an i64 does not fit a JSON number in every
//! language, and enumerations the words of [`Word`]. A record is an object
//! whose first field `type` names its kind, then the fields of spec §6.3.2 in
//! order. Reading, a field whose value may be `null` may also be left out;
//! every other field must be present, and no other field may be.
//!
//! The shape is defined here with serde alone; any serde format renders it.
//! Wrap a value in [`Json`] to serialise or deserialise it in this form:
//!
//! ```
//! use keepsake::json::Json;
//! use keepsake::{Consent, ConsentEntityType, ConsentState, Record};
//!
//! let record = Record::Consent(Consent {
//!     entity_type: ConsentEntityType::Inbox,
//!     entity: "inbox-1".into(),
//!     state: ConsentState::Allowed,
//!     updated_at_ns: 1_700_000_000_000_000_000,
//! });
//! let text = serde_json::to_string(&Json(&record)).unwrap();
//! assert_eq!(
//!     text,
//!     r#"{"type":"consent","entity_type":"inbox","entity":"inbox-1","state":"allowed","updated_at_ns":"1700000000000000000"}"#
//! );
//! let Json(back) = serde_json::from_str::<Json<Record>>(&text).unwrap();
//! assert_eq!(back, record);
//! ```

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::body::records::{
    ArchiveMetadata, ArchiveMode, Consent, ConsentEntityType, ConsentState, Conversation,
    ConversationKind, DeliveryStatus, Elements, Message, MessageKind, Record, hex,
};
use crate::crypto::hex_digit;
use crate::format::Trailer;

/// A value in its JSON form: `Json(&record)` serialises a [`Record`] as the
/// test vectors' records files write it, and `Json<Record>` deserialises one.
/// The same holds for [`ArchiveMetadata`]; a [`Trailer`] only serialises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Json<T>(pub T);

/// The word that names each value of a record's enumerations in the JSON form
/// (and in other languages' bindings): `group`, `membership_change`, …
pub trait Word: Sized + Copy + 'static {
    /// Every word, in declaration order.
    const WORDS: &'static [&'static str];

    /// This value's word.
    fn word(self) -> &'static str;

    /// The value a word names, if any.
    fn from_word(word: &str) -> Option<Self>;
}

macro_rules! words {
    ($($ty:ident { $($variant:ident => $word:literal),+ $(,)? })+) => {$(
        impl Word for $ty {
            const WORDS: &'static [&'static str] = &[$($word),+];

            fn word(self) -> &'static str {
                match self {
                    $($ty::$variant => $word),+
                }
            }

            fn from_word(word: &str) -> Option<Self> {
                match word {
                    $($word => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }
    )+};
}

words! {
    ConversationKind { Group => "group", Dm => "dm" }
    MessageKind { Application => "application", MembershipChange => "membership_change" }
    DeliveryStatus { Published => "published", Unpublished => "unpublished", Failed => "failed" }
    ConsentEntityType { Conversation => "conversation", Inbox => "inbox", Address => "address" }
    ConsentState { Unknown => "unknown", Allowed => "allowed", Denied => "denied" }
    ArchiveMode { Records => "records", Pages => "pages" }
}

/// Parses lower- or upper-case hexadecimal into bytes.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
        .collect()
}

/// Enumerations as their [`Word`].
mod word {
    use super::*;

    pub fn serialize<T: Word, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.word())
    }

    pub fn deserialize<'de, T: Word, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let text = String::deserialize(d)?;
        T::from_word(&text).ok_or_else(|| D::Error::unknown_variant(&text, T::WORDS))
    }
}

/// Byte strings as hexadecimal.
mod hex_bytes {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        parse_hex(&text).ok_or_else(|| {
            D::Error::custom(format!(
                "expected a byte string in hexadecimal, found {text:?}"
            ))
        })
    }
}

/// Optional byte strings as hexadecimal or `null`.
mod hex_bytes_opt {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        bytes.as_deref().map(hex).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        #[derive(Deserialize)]
        struct Hex(#[serde(with = "hex_bytes")] Vec<u8>);
        Ok(Option::<Hex>::deserialize(d)?.map(|Hex(bytes)| bytes))
    }
}

/// Timestamps as decimal strings.
mod decimal {
    use super::*;

    pub fn serialize<S: Serializer>(value: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|_| {
            D::Error::custom(format!(
                "expected a timestamp as a string of decimal digits, found {text:?}"
            ))
        })
    }
}

/// Optional timestamps as decimal strings or `null`.
mod decimal_opt {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        value.map(|value| value.to_string()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        #[derive(Deserialize)]
        struct Decimal(#[serde(with = "decimal")] i64);
        Ok(Option::<Decimal>::deserialize(d)?.map(|Decimal(value)| value))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Conversation", deny_unknown_fields)]
struct ConversationJson {
    #[serde(with = "hex_bytes")]
    id: Vec<u8>,
    #[serde(with = "word")]
    kind: ConversationKind,
    #[serde(with = "decimal")]
    created_at_ns: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    dm_peer: Option<String>,
    #[serde(default)]
    added_by: Option<String>,
    member_ids: Vec<String>,
    metadata: BTreeMap<String, String>,
    #[serde(with = "decimal_opt", default)]
    last_message_ns: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Message", deny_unknown_fields)]
struct MessageJson {
    #[serde(with = "hex_bytes")]
    id: Vec<u8>,
    #[serde(with = "hex_bytes")]
    conversation_id: Vec<u8>,
    sender_id: String,
    #[serde(with = "hex_bytes")]
    sender_installation_id: Vec<u8>,
    #[serde(with = "decimal")]
    sent_at_ns: i64,
    #[serde(with = "word")]
    kind: MessageKind,
    content_type: String,
    #[serde(with = "hex_bytes")]
    content: Vec<u8>,
    #[serde(with = "word")]
    delivery_status: DeliveryStatus,
    #[serde(with = "hex_bytes_opt", default)]
    reference_id: Option<Vec<u8>>,
    #[serde(with = "decimal_opt", default)]
    expires_at_ns: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Consent", deny_unknown_fields)]
struct ConsentJson {
    #[serde(with = "word")]
    entity_type: ConsentEntityType,
    entity: String,
    #[serde(with = "word")]
    state: ConsentState,
    #[serde(with = "decimal")]
    updated_at_ns: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Record", tag = "type", rename_all = "snake_case")]
enum RecordJson {
    Conversation(#[serde(with = "ConversationJson")] Conversation),
    Message(#[serde(with = "MessageJson")] Message),
    Consent(#[serde(with = "ConsentJson")] Consent),
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Elements", deny_unknown_fields)]
struct ElementsJson {
    messages: bool,
    consent: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "ArchiveMetadata", deny_unknown_fields)]
struct MetadataJson {
    #[serde(with = "word")]
    mode: ArchiveMode,
    #[serde(with = "decimal")]
    created_at_ns: i64,
    #[serde(with = "ElementsJson")]
    elements: Elements,
    #[serde(with = "decimal_opt", default)]
    start_ns: Option<i64>,
    #[serde(with = "decimal_opt", default)]
    end_ns: Option<i64>,
    creator: String,
}

/// A trailer's time range as `[first, last]` decimal strings, or `null`.
mod time_range {
    use super::*;

    pub fn serialize<S: Serializer>(range: &Option<(i64, i64)>, s: S) -> Result<S::Ok, S::Error> {
        range
            .map(|(first, last)| [first.to_string(), last.to_string()])
            .serialize(s)
    }
}

#[derive(Serialize)]
#[serde(remote = "Trailer")]
struct TrailerJson {
    chunk_count: u64,
    conversations: u64,
    messages: u64,
    consent: u64,
    pages: u64,
    plaintext_bytes: u64,
    #[serde(with = "time_range")]
    time_range: Option<(i64, i64)>,
    #[serde(with = "hex_bytes")]
    content_digest: [u8; 32],
    index_chunk: u64,
    index_offset: u64,
    #[serde(rename = "signature_block", with = "hex_bytes")]
    signature: [u8; crate::format::SIGNATURE_BLOCK_LEN],
}

/// `Serialize` for `Json<&T>` and `Json<T>`, through a remote definition.
macro_rules! serialize_through {
    ($($ty:ty => $remote:ident),+) => {$(
        impl Serialize for Json<&$ty> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $remote::serialize(self.0, s)
            }
        }

        impl Serialize for Json<$ty> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $remote::serialize(&self.0, s)
            }
        }
    )+};
}

serialize_through!(Record => RecordJson, ArchiveMetadata => MetadataJson, Trailer => TrailerJson);

impl<'de> Deserialize<'de> for Json<Record> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RecordJson::deserialize(d).map(Json)
    }
}

impl<'de> Deserialize<'de> for Json<ArchiveMetadata> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        MetadataJson::deserialize(d).map(Json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::records::strategy::records;
    use proptest::prelude::*;

    fn to_text(record: &Record) -> String {
        serde_json::to_string(&Json(record)).unwrap()
    }

    fn from_text(text: &str) -> Result<Record, String> {
        serde_json::from_str::<Json<Record>>(text)
            .map(|Json(record)| record)
            .map_err(|error| error.to_string())
    }

    proptest! {
        #[test]
        fn records_round_trip(records in records()) {
            for record in &records {
                prop_assert_eq!(&from_text(&to_text(record)).unwrap(), record);
            }
        }

        #[test]
        fn garbage_never_panics(text in ".{0,200}") {
            let _ = from_text(&text);
        }
    }

    #[test]
    fn a_message_has_the_documented_shape() {
        let message = Record::Message(Message {
            id: vec![0xab, 0x01],
            conversation_id: vec![0xff],
            sender_id: "alice".into(),
            sender_installation_id: Vec::new(),
            sent_at_ns: -5,
            kind: MessageKind::MembershipChange,
            content_type: "t".into(),
            content: vec![0, 1],
            delivery_status: DeliveryStatus::Unpublished,
            reference_id: Some(Vec::new()),
            expires_at_ns: None,
        });
        let expected = r#"{"type":"message","id":"ab01","conversation_id":"ff","sender_id":"alice","sender_installation_id":"","sent_at_ns":"-5","kind":"membership_change","content_type":"t","content":"0001","delivery_status":"unpublished","reference_id":"","expires_at_ns":null}"#;
        assert_eq!(to_text(&message), expected);
        assert_eq!(from_text(expected).unwrap(), message);
    }

    #[test]
    fn nullable_fields_may_be_left_out_and_upper_case_hex_is_read() {
        let text = r#"{"type":"conversation","id":"AB","kind":"dm","created_at_ns":"7","member_ids":[],"metadata":{"k":"v"}}"#;
        let Record::Conversation(conversation) = from_text(text).unwrap() else {
            panic!("not a conversation");
        };
        assert_eq!(conversation.id, vec![0xab]);
        assert_eq!(conversation.kind, ConversationKind::Dm);
        assert_eq!(conversation.name, None);
        assert_eq!(conversation.last_message_ns, None);
        assert_eq!(conversation.metadata["k"], "v");
    }

    #[test]
    fn malformed_records_are_refused_with_the_reason() {
        let consent = |fields: &str| format!(r#"{{"type":"consent",{fields}}}"#);
        let good = r#""entity_type":"inbox","entity":"x","state":"denied","updated_at_ns":"1""#;
        assert!(from_text(&consent(good)).is_ok());
        for (text, reason) in [
            (consent(&good.replace("denied", "maybe")), "unknown variant `maybe`"),
            (consent(&good.replace(r#""1""#, "1")), "expected a string"),
            (consent(&good.replace(r#""1""#, r#""1e3""#)), "decimal digits"),
            (consent(&format!(r#"{good},"extra":1"#)), "unknown field `extra`"),
            (consent(r#""entity_type":"inbox","entity":"x","state":"denied""#), "missing field `updated_at_ns`"),
            (r#"{"type":"letter"}"#.to_owned(), "unknown variant `letter`"),
            (
                r#"{"type":"conversation","id":"abc","kind":"dm","created_at_ns":"7","member_ids":[],"metadata":{}}"#.to_owned(),
                "hexadecimal",
            ),
        ] {
            let error = from_text(&text).unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }

    #[test]
    fn metadata_and_trailers_have_the_manifest_shape() {
        let metadata = ArchiveMetadata {
            mode: ArchiveMode::Pages,
            created_at_ns: 1,
            elements: Elements {
                messages: true,
                consent: false,
            },
            start_ns: None,
            end_ns: Some(i64::MAX),
            creator: "c".into(),
        };
        let text = serde_json::to_string(&Json(&metadata)).unwrap();
        assert_eq!(
            text,
            r#"{"mode":"pages","created_at_ns":"1","elements":{"messages":true,"consent":false},"start_ns":null,"end_ns":"9223372036854775807","creator":"c"}"#
        );
        assert_eq!(
            serde_json::from_str::<Json<ArchiveMetadata>>(&text)
                .unwrap()
                .0,
            metadata
        );

        let mut signature = [0; crate::format::SIGNATURE_BLOCK_LEN];
        signature[0] = 1;
        let trailer = Trailer {
            chunk_count: 3,
            conversations: 1,
            messages: 2,
            consent: 0,
            pages: 0,
            plaintext_bytes: 99,
            time_range: Some((-1, 2)),
            content_digest: [0xee; 32],
            index_chunk: 2,
            index_offset: 400,
            signature,
        };
        let value: serde_json::Value = serde_json::to_value(Json(&trailer)).unwrap();
        assert_eq!(value["time_range"], serde_json::json!(["-1", "2"]));
        assert_eq!(value["content_digest"], "ee".repeat(32));
        assert_eq!(value["signature_block"], format!("01{}", "00".repeat(96)));
        assert_eq!(value["index_offset"], 400);
    }

    #[test]
    fn words_name_every_value_once() {
        fn check<T: Word + PartialEq + std::fmt::Debug>() {
            for word in T::WORDS {
                assert_eq!(T::from_word(word).unwrap().word(), *word);
            }
            assert_eq!(T::from_word("Group"), None);
        }
        check::<ConversationKind>();
        check::<MessageKind>();
        check::<DeliveryStatus>();
        check::<ConsentEntityType>();
        check::<ConsentState>();
        check::<ArchiveMode>();
    }
}
