//! The one place that maps records to rows and back: the inserter an import
//! and the sample generator write through, the row readers create uses, and
//! the words the schema stores for each enum.

use rusqlite::types::{Type, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, Statement};

use keepsake::body::records::{
    Consent, ConsentEntityType, ConsentState, Conversation, ConversationKind, DeliveryStatus,
    Message, MessageKind, Record,
};
use keepsake::error::{Error, Result};

use crate::DbResult;
use crate::schema::{CONSENT_COLUMNS, CONVERSATION_COLUMNS, MESSAGE_COLUMNS};

/// A message's fields, borrowed: from a [`Message`], or from where a
/// window of messages keeps them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MessageFields<'a> {
    pub(crate) id: &'a [u8],
    pub(crate) conversation_id: &'a [u8],
    pub(crate) sender_id: &'a str,
    pub(crate) sender_installation_id: &'a [u8],
    pub(crate) sent_at_ns: i64,
    pub(crate) kind: MessageKind,
    pub(crate) content_type: &'a str,
    pub(crate) content: &'a [u8],
    pub(crate) delivery_status: DeliveryStatus,
    pub(crate) reference_id: Option<&'a [u8]>,
    pub(crate) expires_at_ns: Option<i64>,
}

impl<'a> From<&'a Message> for MessageFields<'a> {
    fn from(message: &'a Message) -> Self {
        MessageFields {
            id: &message.id,
            conversation_id: &message.conversation_id,
            sender_id: &message.sender_id,
            sender_installation_id: &message.sender_installation_id,
            sent_at_ns: message.sent_at_ns,
            kind: message.kind,
            content_type: &message.content_type,
            content: &message.content,
            delivery_status: message.delivery_status,
            reference_id: message.reference_id.as_deref(),
            expires_at_ns: message.expires_at_ns,
        }
    }
}

/// How many columns a message is bound to: [`MESSAGE_COLUMNS`].
const MESSAGE_PARAMS: usize = 11;

/// Binds `message` to the eleven parameters from `first` (1-based) of a
/// statement whose parameters are [`MESSAGE_COLUMNS`], in order, once or
/// for several rows.
fn bind_message(
    statement: &mut Statement<'_>,
    first: usize,
    message: &MessageFields<'_>,
) -> rusqlite::Result<()> {
    statement.raw_bind_parameter(first, message.id)?;
    statement.raw_bind_parameter(first + 1, message.conversation_id)?;
    statement.raw_bind_parameter(first + 2, message.sender_id)?;
    statement.raw_bind_parameter(first + 3, message.sender_installation_id)?;
    statement.raw_bind_parameter(first + 4, message.sent_at_ns)?;
    statement.raw_bind_parameter(first + 5, message.kind.name())?;
    statement.raw_bind_parameter(first + 6, message.content_type)?;
    statement.raw_bind_parameter(first + 7, message.content)?;
    statement.raw_bind_parameter(first + 8, message.delivery_status.name())?;
    statement.raw_bind_parameter(first + 9, message.reference_id)?;
    statement.raw_bind_parameter(first + 10, message.expires_at_ns)
}

/// Runs a statement whose eleven parameters are [`MESSAGE_COLUMNS`], in order.
pub(crate) fn execute_message(
    statement: &mut Statement<'_>,
    message: &Message,
) -> rusqlite::Result<usize> {
    bind_message(statement, 1, &MessageFields::from(message))?;
    statement.raw_execute()
}

/// The `VALUES` list of an insert of `rows` messages.
fn message_values(rows: usize) -> String {
    let row = format!("({})", ["?"; MESSAGE_PARAMS].join(", "));
    vec![row; rows].join(", ")
}

/// How many messages one statement inserts at a time, when there are that
/// many: a statement's steps cost as much as binding a row's eleven values.
const MESSAGES_PER_STATEMENT: usize = 32;

/// How a [`RecordInserter`] treats rows the database already has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InsertMode {
    /// An import: existing rows are kept and the record skipped (consent:
    /// replaced only by a strictly newer decision); new conversations are
    /// inactive.
    Additive,
    /// New data from this installation: an existing row is an error; new
    /// conversations are active.
    Fresh,
}

/// Writes records into the tables of [`REFERENCE_SCHEMA`] with prepared
/// statements; the one place that maps a record to its row.
pub(crate) struct RecordInserter<'conn> {
    conversation: Statement<'conn>,
    message: Statement<'conn>,
    /// The message insert for [`MESSAGES_PER_STATEMENT`] rows.
    messages: Statement<'conn>,
    consent: Statement<'conn>,
}

impl<'conn> RecordInserter<'conn> {
    pub(crate) fn new(conn: &'conn Connection, mode: InsertMode) -> Result<Self> {
        let (is_active, keep_conversation, keep_message, keep_consent) = match mode {
            InsertMode::Additive => (
                0,
                " ON CONFLICT (id) DO NOTHING",
                " ON CONFLICT (id) DO NOTHING",
                " ON CONFLICT (entity_type, entity) DO UPDATE \
                 SET state = excluded.state, updated_at_ns = excluded.updated_at_ns \
                 WHERE excluded.updated_at_ns > consent.updated_at_ns",
            ),
            InsertMode::Fresh => (1, "", "", ""),
        };
        Ok(RecordInserter {
            conversation: conn
                .prepare(&format!(
                    "INSERT INTO conversations ({CONVERSATION_COLUMNS}, is_active) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, {is_active}){keep_conversation}"
                ))
                .db()?,
            message: conn
                .prepare(&format!(
                    "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES {}{keep_message}",
                    message_values(1)
                ))
                .db()?,
            messages: conn
                .prepare(&format!(
                    "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES {}{keep_message}",
                    message_values(MESSAGES_PER_STATEMENT)
                ))
                .db()?,
            consent: conn
                .prepare(&format!(
                    "INSERT INTO consent ({CONSENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4){keep_consent}"
                ))
                .db()?,
        })
    }

    /// Writes one record; `false` when the database kept its own row instead.
    pub(crate) fn insert(&mut self, record: &Record) -> Result<bool> {
        let changed = match record {
            Record::Conversation(conversation) => {
                let (member_ids, metadata) = conversation_json(conversation)?;
                self.conversation
                    .execute(rusqlite::params![
                        conversation.id,
                        conversation.kind.name(),
                        conversation.created_at_ns,
                        conversation.name,
                        conversation.dm_peer,
                        conversation.added_by,
                        member_ids,
                        metadata,
                        conversation.last_message_ns,
                    ])
                    .db()?
            }
            Record::Message(message) => return self.insert_message(message),
            Record::Consent(consent) => self
                .consent
                .execute(rusqlite::params![
                    consent.entity_type.name(),
                    consent.entity,
                    consent.state.name(),
                    consent.updated_at_ns,
                ])
                .db()?,
        };
        Ok(changed != 0)
    }
}

impl RecordInserter<'_> {
    /// Writes one message; `false` when the database kept its own row instead.
    pub(crate) fn insert_message(&mut self, message: &Message) -> Result<bool> {
        Ok(execute_message(&mut self.message, message).db()? != 0)
    }

    /// Writes `count` messages, `message(i)` for each `i` in order, several
    /// to a statement; returns how many were written rather than kept.
    pub(crate) fn insert_messages<'m>(
        &mut self,
        count: usize,
        message: &dyn Fn(usize) -> Result<MessageFields<'m>>,
    ) -> Result<u64> {
        let mut inserted = 0;
        let mut next = 0;
        while count - next >= MESSAGES_PER_STATEMENT {
            for row in 0..MESSAGES_PER_STATEMENT {
                let fields = message(next + row)?;
                bind_message(&mut self.messages, row * MESSAGE_PARAMS + 1, &fields).db()?;
            }
            inserted += self.messages.raw_execute().db()? as u64;
            next += MESSAGES_PER_STATEMENT;
        }
        for index in next..count {
            bind_message(&mut self.message, 1, &message(index)?).db()?;
            inserted += self.message.raw_execute().db()? as u64;
        }
        Ok(inserted)
    }
}

/// Whether the conversation `conversation_id` accepts new messages: `false`
/// for one an import created and the application has not reactivated (by
/// setting `is_active` to 1). An unknown id is an [`Error::InvalidInput`].
pub fn is_active(conn: &Connection, conversation_id: &[u8]) -> Result<bool> {
    let active: Option<i64> = conn
        .query_row(
            "SELECT is_active FROM conversations WHERE id = ?1",
            [conversation_id],
            |row| row.get(0),
        )
        .optional()
        .db()?;
    match active {
        Some(active) => Ok(active != 0),
        None => Err(Error::invalid(format!(
            "conversation {} does not exist",
            hex(conversation_id)
        ))),
    }
}

/// Inserts a new message into an active conversation.
///
/// Fails with [`Error::ConversationInactive`] when the conversation was
/// restored from an archive and is read-only, with [`Error::InvalidInput`]
/// when it does not exist, and with [`Error::Database`] when a message with
/// the same id exists.
pub fn insert_message(conn: &Connection, message: &Message) -> Result<()> {
    // The check and the insert are one statement, so no other connection can
    // deactivate the conversation between them.
    let mut statement = conn
        .prepare_cached(&format!(
            "INSERT INTO messages ({MESSAGE_COLUMNS}) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 \
         WHERE EXISTS (SELECT 1 FROM conversations WHERE id = ?2 AND is_active = 1)"
        ))
        .db()?;
    let inserted = execute_message(&mut statement, message).db()?;
    if inserted == 1 {
        return Ok(());
    }
    if is_active(conn, &message.conversation_id)? {
        Err(Error::invalid(format!(
            "message {} was not inserted: its conversation changed while inserting",
            hex(&message.id)
        )))
    } else {
        Err(Error::ConversationInactive {
            id: hex(&message.conversation_id),
        })
    }
}

/// Lower-case hexadecimal, for ids in messages.
pub(crate) use keepsake::body::records::hex;

/// `member_ids` and `metadata` as the JSON text the schema stores.
fn conversation_json(conversation: &Conversation) -> Result<(String, String)> {
    let encode = |error: serde_json::Error| {
        Error::invalid(format!(
            "conversation fields cannot be encoded as JSON: {error}"
        ))
    };
    Ok((
        serde_json::to_string(&conversation.member_ids).map_err(encode)?,
        serde_json::to_string(&conversation.metadata).map_err(encode)?,
    ))
}

/// A row of [`CONVERSATION_COLUMNS`].
pub(crate) fn conversation_from_row(row: &Row<'_>) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: row.get(0)?,
        kind: text_enum(row, 1)?,
        created_at_ns: row.get(2)?,
        name: row.get(3)?,
        dm_peer: row.get(4)?,
        added_by: row.get(5)?,
        member_ids: json_column(row, 6)?,
        metadata: json_column(row, 7)?,
        last_message_ns: row.get(8)?,
    })
}

/// A row of [`MESSAGE_COLUMNS`].
pub(crate) fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: row.get(0)?,
        conversation_id: row.get(1)?,
        sender_id: row.get(2)?,
        sender_installation_id: row.get(3)?,
        sent_at_ns: row.get(4)?,
        kind: text_enum(row, 5)?,
        content_type: row.get(6)?,
        content: row.get(7)?,
        delivery_status: text_enum(row, 8)?,
        reference_id: row.get(9)?,
        expires_at_ns: row.get(10)?,
    })
}

/// A row of [`CONSENT_COLUMNS`].
pub(crate) fn consent_from_row(row: &Row<'_>) -> rusqlite::Result<Consent> {
    Ok(Consent {
        entity_type: text_enum(row, 0)?,
        entity: row.get(1)?,
        state: text_enum(row, 2)?,
        updated_at_ns: row.get(3)?,
    })
}

/// Decodes a JSON text column, reporting bad JSON as a conversion failure.
fn json_column<T: serde::de::DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    serde_json::from_str(text_column(row, index)?).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(error))
    })
}

/// A record enum stored as one of a fixed set of words.
pub(crate) trait TextEnum: Sized {
    /// What the column holds, for error messages.
    const WHAT: &'static str;
    /// The word stored for this value.
    fn name(self) -> &'static str;
    /// The value a word stands for.
    fn parse(word: &str) -> Option<Self>;
}

/// Implements [`TextEnum`] from one list of variants and words, which must
/// match the schema's CHECK constraints.
macro_rules! text_enum_words {
    ($ty:ty, $what:literal, $($variant:path => $word:literal),+ $(,)?) => {
        impl TextEnum for $ty {
            const WHAT: &'static str = $what;
            fn name(self) -> &'static str {
                match self {
                    $($variant => $word),+
                }
            }
            fn parse(word: &str) -> Option<Self> {
                match word {
                    $($word => Some($variant),)+
                    _ => None,
                }
            }
        }
    };
}

text_enum_words!(ConversationKind, "conversation kind",
    ConversationKind::Group => "group",
    ConversationKind::Dm => "dm",
);
text_enum_words!(MessageKind, "message kind",
    MessageKind::Application => "application",
    MessageKind::MembershipChange => "membership_change",
);
text_enum_words!(DeliveryStatus, "delivery status",
    DeliveryStatus::Published => "published",
    DeliveryStatus::Unpublished => "unpublished",
    DeliveryStatus::Failed => "failed",
);
text_enum_words!(ConsentEntityType, "consent entity type",
    ConsentEntityType::Conversation => "conversation",
    ConsentEntityType::Inbox => "inbox",
    ConsentEntityType::Address => "address",
);
text_enum_words!(ConsentState, "consent state",
    ConsentState::Unknown => "unknown",
    ConsentState::Allowed => "allowed",
    ConsentState::Denied => "denied",
);

/// Reads a [`TextEnum`] column; an unknown word is a conversion failure.
pub(crate) fn text_enum<T: TextEnum>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let word = text_column(row, index)?;
    T::parse(word).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            Type::Text,
            format!("{word:?} is not a known {}", T::WHAT).into(),
        )
    })
}

/// Borrows a TEXT column without copying it.
pub(crate) fn text_column<'row>(row: &'row Row<'_>, index: usize) -> rusqlite::Result<&'row str> {
    match row.get_ref(index)? {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes).map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(error))
        }),
        other => Err(rusqlite::Error::InvalidColumnType(
            index,
            row.as_ref().column_name(index).unwrap_or("?").to_owned(),
            other.data_type(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use proptest::prelude::*;

    use super::*;
    use crate::import::ImportReport;
    use crate::order::read_snapshot;
    use crate::{CreateOptions, REFERENCE_SCHEMA, create_archive, import_archive, open_database};
    use keepsake::ArchiveKey;
    use keepsake::body::records::strategy::records;

    fn memory_db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        conn.execute_batch(REFERENCE_SCHEMA).unwrap();
        conn
    }

    fn import_records(conn: &Connection, records: &[Record]) -> ImportReport {
        let mut inserter = RecordInserter::new(conn, InsertMode::Additive).unwrap();
        let mut report = ImportReport::default();
        for record in records {
            let inserted = inserter.insert(record).unwrap();
            report.count(record, inserted);
        }
        report
    }

    fn snapshot(conn: &Connection, options: &CreateOptions) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        read_snapshot(conn, options, &mut |record| {
            out.push(record.clone());
            Ok(())
        })?;
        Ok(out)
    }

    /// What an additive import of `records` into an empty database holds,
    /// in archive order (less than one window of messages): the first
    /// conversation and message of each id, the newest consent of each
    /// entity (the first among equals); conversations in id order, then the
    /// messages by conversation, send time and id, then consent.
    fn expected(records: &[Record]) -> Vec<Record> {
        let mut conversations = BTreeMap::new();
        let mut messages: BTreeMap<Vec<u8>, Message> = BTreeMap::new();
        let mut consent: BTreeMap<(&str, String), Consent> = BTreeMap::new();
        for record in records {
            match record {
                Record::Conversation(c) => {
                    conversations
                        .entry(c.id.clone())
                        .or_insert_with(|| c.clone());
                }
                Record::Message(m) => {
                    messages.entry(m.id.clone()).or_insert_with(|| m.clone());
                }
                Record::Consent(c) => {
                    let key = (c.entity_type.name(), c.entity.clone());
                    match consent.get(&key) {
                        Some(old) if old.updated_at_ns >= c.updated_at_ns => {}
                        _ => {
                            consent.insert(key, c.clone());
                        }
                    }
                }
            }
        }
        let mut messages: Vec<Message> = messages
            .into_values()
            .filter(|m| conversations.contains_key(&m.conversation_id))
            .collect();
        messages.sort_by(|a, b| {
            (&a.conversation_id, a.sent_at_ns, &a.id).cmp(&(
                &b.conversation_id,
                b.sent_at_ns,
                &b.id,
            ))
        });
        let mut out: Vec<Record> = conversations
            .into_values()
            .map(Record::Conversation)
            .collect();
        out.extend(messages.into_iter().map(Record::Message));
        out.extend(consent.into_values().map(Record::Consent));
        out
    }

    proptest! {
        #[test]
        fn records_round_trip_through_the_tables(records in records()) {
            let conn = memory_db();
            import_records(&conn, &records);
            let back = snapshot(&conn, &CreateOptions::default()).unwrap();
            prop_assert_eq!(back, expected(&records));
            // A second import finds everything already there.
            let again = import_records(&conn, &records);
            prop_assert_eq!(again.conversations.inserted + again.messages.inserted + again.consent.inserted, 0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn records_round_trip_through_an_archive(records in records()) {
            let dir = tempfile::tempdir().unwrap();
            let (source, archive, target) =
                (dir.path().join("source.db"), dir.path().join("a.keepsake"), dir.path().join("target.db"));
            import_records(&open_database(&source).unwrap(), &records);
            let key = ArchiveKey::generate();
            create_archive(&source, &archive, &[&key], &CreateOptions::default()).unwrap();
            import_archive(&archive, &[key.into()], &target).unwrap();
            let everything = CreateOptions::default();
            let back = snapshot(&open_database(&target).unwrap(), &everything).unwrap();
            // An import leaves out consent dated more than a day ahead.
            let latest = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as i64
                + crate::CONSENT_CLOCK_SKEW_NS;
            let imported: Vec<Record> = records
                .iter()
                .filter(|record| !matches!(record, Record::Consent(c) if c.updated_at_ns > latest))
                .cloned()
                .collect();
            prop_assert_eq!(back, expected(&imported));
        }
    }

    #[test]
    fn extreme_values_survive_exactly() {
        let conversation = Conversation {
            id: Vec::new(),
            kind: ConversationKind::Dm,
            created_at_ns: i64::MIN,
            name: Some(String::new()),
            dm_peer: None,
            added_by: Some("nul \0 inside, RTL \u{202e}עברית, 🏳️‍🌈".into()),
            member_ids: vec![String::new(), "\"quoted\" \\ back".into()],
            metadata: [(String::new(), String::new()), ("ключ".into(), "值".into())].into(),
            last_message_ns: Some(i64::MAX),
        };
        let base = Message {
            id: vec![0],
            conversation_id: Vec::new(),
            sender_id: String::new(),
            sender_installation_id: Vec::new(),
            sent_at_ns: i64::MIN,
            kind: MessageKind::MembershipChange,
            content_type: String::new(),
            content: Vec::new(),
            delivery_status: DeliveryStatus::Failed,
            reference_id: Some(Vec::new()),
            expires_at_ns: Some(i64::MIN),
        };
        let other = Message {
            id: vec![0xff; 64],
            sent_at_ns: i64::MAX,
            content: (0..=255).collect(),
            reference_id: None,
            expires_at_ns: None,
            delivery_status: DeliveryStatus::Unpublished,
            kind: MessageKind::Application,
            ..base.clone()
        };
        let consent = Consent {
            entity_type: ConsentEntityType::Address,
            entity: String::new(),
            state: ConsentState::Unknown,
            updated_at_ns: i64::MAX,
        };
        let records = vec![
            Record::Conversation(conversation),
            Record::Message(other),
            Record::Message(base),
            Record::Consent(consent),
        ];
        let conn = memory_db();
        import_records(&conn, &records);
        assert_eq!(
            snapshot(&conn, &CreateOptions::default()).unwrap(),
            expected(&records)
        );
        // Some("") and None stay apart in the table itself.
        let (null_reference, empty_reference): (i64, i64) = conn
            .query_row(
                "SELECT sum(reference_id IS NULL), sum(length(reference_id) = 0) FROM messages",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!((null_reference, empty_reference), (1, 1));
    }

    #[test]
    fn every_enum_word_passes_the_schema_checks() {
        let conn = memory_db();
        let mut records = Vec::new();
        for (n, kind) in [ConversationKind::Group, ConversationKind::Dm]
            .into_iter()
            .enumerate()
        {
            records.push(Record::Conversation(Conversation {
                id: vec![n as u8],
                kind,
                created_at_ns: 0,
                name: None,
                dm_peer: None,
                added_by: None,
                member_ids: Vec::new(),
                metadata: BTreeMap::new(),
                last_message_ns: None,
            }));
        }
        let mut n = 0u8;
        for kind in [MessageKind::Application, MessageKind::MembershipChange] {
            for delivery_status in [
                DeliveryStatus::Published,
                DeliveryStatus::Unpublished,
                DeliveryStatus::Failed,
            ] {
                n += 1;
                records.push(Record::Message(Message {
                    id: vec![n],
                    conversation_id: vec![0],
                    sender_id: "s".into(),
                    sender_installation_id: vec![1],
                    sent_at_ns: i64::from(n),
                    kind,
                    content_type: "t".into(),
                    content: vec![2],
                    delivery_status,
                    reference_id: None,
                    expires_at_ns: None,
                }));
            }
        }
        for entity_type in [
            ConsentEntityType::Conversation,
            ConsentEntityType::Inbox,
            ConsentEntityType::Address,
        ] {
            for state in [
                ConsentState::Unknown,
                ConsentState::Allowed,
                ConsentState::Denied,
            ] {
                records.push(Record::Consent(Consent {
                    entity_type,
                    entity: format!("{state:?}"),
                    state,
                    updated_at_ns: 0,
                }));
            }
        }
        let report = import_records(&conn, &records);
        assert_eq!(report.conversations.inserted, 2);
        assert_eq!(report.messages.inserted, 6);
        assert_eq!(report.consent.inserted, 9);
        assert_eq!(
            snapshot(&conn, &CreateOptions::default()).unwrap(),
            expected(&records)
        );
    }

    #[test]
    fn damaged_rows_are_errors_not_panics() {
        // Another application's tables, without this schema's type and CHECK constraints.
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE conversations (id, kind, created_at_ns, name, dm_peer, added_by,
                 member_ids, metadata, last_message_ns, is_active);
             CREATE TABLE messages (id, conversation_id, sender_id, sender_installation_id,
                 sent_at_ns, kind, content_type, content, delivery_status, reference_id,
                 expires_at_ns);
             CREATE TABLE consent (entity_type, entity, state, updated_at_ns);",
        )
        .unwrap();
        let good = "INSERT INTO conversations VALUES (x'01', 'group', 1, NULL, NULL, NULL, '[]', '{}', NULL, 1)";
        let damaged = [
            "INSERT INTO conversations VALUES (x'01', 'channel', 1, NULL, NULL, NULL, '[]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 'group', 1, NULL, NULL, NULL, '[1,2]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 'group', 1, NULL, NULL, NULL, '[]', 'not json', NULL, 1)",
            "INSERT INTO conversations VALUES ('text id', 'group', 1, NULL, NULL, NULL, '[]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 'group', 1.5, NULL, NULL, NULL, '[]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 7, 1, NULL, NULL, NULL, '[]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 'group', 1, x'ff', NULL, NULL, '[]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 'group', 1, CAST(x'ff' AS TEXT), NULL, NULL, '[]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 'group', 1, NULL, NULL, NULL, NULL, '{}', NULL, 1)",
            &format!(
                "{good}; INSERT INTO messages VALUES (x'02', x'01', 's', x'', 1, 'application', 't', x'', 'lost', NULL, NULL)"
            ),
            &format!(
                "{good}; INSERT INTO messages VALUES (x'02', x'01', 's', x'', 1, 'application', 't', 'text', 'failed', NULL, NULL)"
            ),
            "INSERT INTO consent VALUES ('wallet', 'e', 'allowed', 1)",
            "INSERT INTO consent VALUES ('inbox', 'e', 'maybe', 1)",
            "INSERT INTO consent VALUES ('inbox', 'e', 'allowed', NULL)",
        ];
        for insert in damaged {
            conn.execute_batch(
                "DELETE FROM conversations; DELETE FROM messages; DELETE FROM consent",
            )
            .unwrap();
            conn.execute_batch(insert).unwrap();
            let result = snapshot(&conn, &CreateOptions::default());
            assert!(
                matches!(result, Err(Error::Database(_))),
                "{insert}: {result:?}"
            );
        }
    }

    #[test]
    fn messages_go_in_many_to_a_statement_and_are_counted_as_one_by_one() {
        let conn = memory_db();
        let conversation = Record::Conversation(Conversation {
            id: vec![1],
            kind: ConversationKind::Group,
            created_at_ns: 0,
            name: None,
            dm_peer: None,
            added_by: None,
            member_ids: Vec::new(),
            metadata: BTreeMap::new(),
            last_message_ns: None,
        });
        let message = |n: u8| Message {
            id: vec![n],
            conversation_id: vec![1],
            sender_id: format!("sender {n}"),
            sender_installation_id: vec![n; 3],
            sent_at_ns: i64::from(n),
            kind: MessageKind::Application,
            content_type: "t".into(),
            content: vec![n; usize::from(n)],
            delivery_status: DeliveryStatus::Published,
            reference_id: n.is_multiple_of(2).then(|| vec![n]),
            expires_at_ns: n.is_multiple_of(3).then_some(i64::from(n)),
        };
        let mut inserter = RecordInserter::new(&conn, InsertMode::Additive).unwrap();
        inserter.insert(&conversation).unwrap();
        // Two already there, and five ids twice: 75 rows, 68 new, two
        // statements of 32 and 11 rows one by one.
        for n in [3, 40] {
            inserter.insert_message(&message(n)).unwrap();
        }
        let batch: Vec<Message> = (0..70).chain([5, 33, 34, 66, 69]).map(message).collect();
        let inserted = inserter
            .insert_messages(batch.len(), &|index| Ok(MessageFields::from(&batch[index])))
            .unwrap();
        assert_eq!(inserted, 68);
        let back = snapshot(&conn, &CreateOptions::default()).unwrap();
        let messages: Vec<Message> = back
            .into_iter()
            .filter_map(|record| match record {
                Record::Message(m) => Some(m),
                _ => None,
            })
            .collect();
        assert_eq!(messages, (0..70).map(message).collect::<Vec<_>>());
    }

    #[test]
    fn enum_words_are_distinct_and_parse_back() {
        fn check<T: TextEnum + Copy + PartialEq + std::fmt::Debug>(all: &[T]) {
            let words: HashSet<&str> = all.iter().map(|v| v.name()).collect();
            assert_eq!(words.len(), all.len());
            for &value in all {
                assert_eq!(T::parse(value.name()), Some(value));
            }
            assert_eq!(T::parse("bogus"), None);
        }
        check(&[ConversationKind::Group, ConversationKind::Dm]);
        check(&[MessageKind::Application, MessageKind::MembershipChange]);
        check(&[
            DeliveryStatus::Published,
            DeliveryStatus::Unpublished,
            DeliveryStatus::Failed,
        ]);
        check(&[
            ConsentEntityType::Conversation,
            ConsentEntityType::Inbox,
            ConsentEntityType::Address,
        ]);
        check(&[
            ConsentState::Unknown,
            ConsentState::Allowed,
            ConsentState::Denied,
        ]);
    }
}
