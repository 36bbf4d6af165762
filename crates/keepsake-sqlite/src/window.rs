//! A window of messages held compactly in one buffer, so that a bounded run
//! of them can be put in another order: create groups each window's messages
//! by conversation, import sorts them by id.
//!
//! A message's variable fields sit side by side in two buffers (its byte
//! strings in one, its text, checked once, in the other) and its fixed fields
//! in a small row, so a window costs its encoded size and about 72 bytes a
//! message: several times less than as [`Message`] values, each with its own
//! allocations.

use rusqlite::types::{Type, ValueRef};

use keepsake::body::records::{DeliveryStatus, Message, MessageKind};
use keepsake::error::{Error, Result};

use crate::rows::{MessageFields, text_column, text_enum};

/// The byte-string fields of a message, in the order they are stored.
const ID: usize = 0;
const CONVERSATION: usize = 1;
const INSTALLATION: usize = 2;
const CONTENT: usize = 3;
const REFERENCE: usize = 4;
const BYTE_FIELDS: usize = 5;
/// Its text fields, likewise.
const SENDER: usize = 0;
const CONTENT_TYPE: usize = 1;
const TEXT_FIELDS: usize = 2;

/// Where one message's fields are: its byte strings from `at` and its text
/// from `text_at`, one after another, so many bytes each; its fixed fields
/// as they are.
#[derive(Clone, Copy, Debug)]
struct Row {
    /// The group the message sorts by first: its conversation's position.
    group: u32,
    at: usize,
    text_at: usize,
    lens: [u32; BYTE_FIELDS],
    text_lens: [u32; TEXT_FIELDS],
    sent_at_ns: i64,
    expires_at_ns: Option<i64>,
    kind: MessageKind,
    delivery_status: DeliveryStatus,
    has_reference: bool,
}

/// Where field `field` of lengths `lens` starts past `at`, and ends.
fn span(at: usize, lens: &[u32], field: usize) -> std::ops::Range<usize> {
    let start = at + lens[..field].iter().map(|&len| len as usize).sum::<usize>();
    start..start + lens[field] as usize
}

impl Row {
    fn field<'w>(&self, bytes: &'w [u8], field: usize) -> &'w [u8] {
        &bytes[span(self.at, &self.lens, field)]
    }

    fn text<'w>(&self, text: &'w str, field: usize) -> &'w str {
        &text[span(self.text_at, &self.text_lens, field)]
    }
}

/// Messages in one buffer, in the order they were added until sorted.
#[derive(Debug, Default)]
pub(crate) struct MessageWindow {
    bytes: Vec<u8>,
    text: String,
    rows: Vec<Row>,
}

impl MessageWindow {
    /// How many bytes of message fields the window holds.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.len() + self.text.len()
    }

    /// How many bytes the window holds: its fields and a row per message.
    /// Messages with empty fields cost their row; counting it keeps a window
    /// of them as small as any other.
    pub(crate) fn held_bytes(&self) -> usize {
        self.bytes() + self.rows.len() * std::mem::size_of::<Row>()
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Empties the window, keeping its allocations.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.text.clear();
        self.rows.clear();
    }

    /// Adds a copy of `message`.
    pub(crate) fn push(&mut self, message: &Message) -> Result<()> {
        let fields: [&[u8]; BYTE_FIELDS] = [
            &message.id,
            &message.conversation_id,
            &message.sender_installation_id,
            &message.content,
            message.reference_id.as_deref().unwrap_or_default(),
        ];
        self.push_fields(
            0,
            fields,
            [&message.sender_id, &message.content_type],
            message.sent_at_ns,
            message.expires_at_ns,
            message.kind,
            message.delivery_status,
            message.reference_id.is_some(),
        )
    }

    /// Adds the message in a row of [`crate::schema::MESSAGE_COLUMNS`] to
    /// `group` (see [`MessageWindow::sort_by_group`]), failing as
    /// [`crate::rows::message_from_row`] does on a value of the wrong type or
    /// a word that is not one of the schema's.
    pub(crate) fn push_row(&mut self, group: u32, row: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
        let reference = optional_blob(row, 9)?;
        let fields: [&[u8]; BYTE_FIELDS] = [
            blob(row, 0)?,
            blob(row, 1)?,
            blob(row, 3)?,
            blob(row, 7)?,
            reference.unwrap_or_default(),
        ];
        let text = [text_column(row, 2)?, text_column(row, 6)?];
        let sent_at_ns = row.get(4)?;
        let expires_at_ns = row.get(10)?;
        let kind = text_enum(row, 5)?;
        let delivery_status = text_enum(row, 8)?;
        self.push_fields(
            group,
            fields,
            text,
            sent_at_ns,
            expires_at_ns,
            kind,
            delivery_status,
            reference.is_some(),
        )
        .map_err(|error| rusqlite::Error::FromSqlConversionFailure(7, Type::Blob, Box::new(error)))
    }

    #[allow(clippy::too_many_arguments)]
    fn push_fields(
        &mut self,
        group: u32,
        fields: [&[u8]; BYTE_FIELDS],
        text: [&str; TEXT_FIELDS],
        sent_at_ns: i64,
        expires_at_ns: Option<i64>,
        kind: MessageKind,
        delivery_status: DeliveryStatus,
        has_reference: bool,
    ) -> Result<()> {
        let length = |len: usize| {
            u32::try_from(len).map_err(|_| Error::invalid("a message field is larger than 4 GiB"))
        };
        let mut lens = [0u32; BYTE_FIELDS];
        for (len, field) in lens.iter_mut().zip(fields) {
            *len = length(field.len())?;
        }
        let mut text_lens = [0u32; TEXT_FIELDS];
        for (len, field) in text_lens.iter_mut().zip(text) {
            *len = length(field.len())?;
        }
        let (at, text_at) = (self.bytes.len(), self.text.len());
        for field in fields {
            self.bytes.extend_from_slice(field);
        }
        for field in text {
            self.text.push_str(field);
        }
        self.rows.push(Row {
            group,
            at,
            text_at,
            lens,
            text_lens,
            sent_at_ns,
            expires_at_ns,
            kind,
            delivery_status,
            has_reference,
        });
        Ok(())
    }

    /// Puts the messages in `(group, sent_at_ns, id)` order: with each
    /// conversation's position in id order as its group, archive order
    /// within each conversation, the conversations in id order.
    pub(crate) fn sort_by_group(&mut self) {
        let bytes = &self.bytes;
        self.rows.sort_unstable_by(|a, b| {
            (a.group, a.sent_at_ns, a.field(bytes, ID)).cmp(&(
                b.group,
                b.sent_at_ns,
                b.field(bytes, ID),
            ))
        });
    }

    /// Puts the messages in id order (equal ids keep their order).
    pub(crate) fn sort_by_id(&mut self) {
        let bytes = &self.bytes;
        self.rows
            .sort_by(|a, b| a.field(bytes, ID).cmp(b.field(bytes, ID)));
    }

    /// Message `index`, its fields borrowed from the window.
    pub(crate) fn fields(&self, index: usize) -> MessageFields<'_> {
        let row = &self.rows[index];
        let field = |field| row.field(&self.bytes, field);
        MessageFields {
            id: field(ID),
            conversation_id: field(CONVERSATION),
            sender_id: row.text(&self.text, SENDER),
            sender_installation_id: field(INSTALLATION),
            sent_at_ns: row.sent_at_ns,
            kind: row.kind,
            content_type: row.text(&self.text, CONTENT_TYPE),
            content: field(CONTENT),
            delivery_status: row.delivery_status,
            reference_id: row.has_reference.then(|| field(REFERENCE)),
            expires_at_ns: row.expires_at_ns,
        }
    }

    /// Overwrites `out` with message `index`, reusing its allocations.
    pub(crate) fn fill(&self, index: usize, out: &mut Message) {
        let fields = self.fields(index);
        refill(&mut out.id, fields.id);
        refill(&mut out.conversation_id, fields.conversation_id);
        out.sender_id.clear();
        out.sender_id.push_str(fields.sender_id);
        refill(
            &mut out.sender_installation_id,
            fields.sender_installation_id,
        );
        out.sent_at_ns = fields.sent_at_ns;
        out.kind = fields.kind;
        out.content_type.clear();
        out.content_type.push_str(fields.content_type);
        refill(&mut out.content, fields.content);
        out.delivery_status = fields.delivery_status;
        match fields.reference_id {
            Some(reference) => refill(out.reference_id.get_or_insert_with(Vec::new), reference),
            None => out.reference_id = None,
        }
        out.expires_at_ns = fields.expires_at_ns;
    }
}

/// A message with every field empty, to be [filled](MessageWindow::fill).
pub(crate) fn empty_message() -> Message {
    Message {
        id: Vec::new(),
        conversation_id: Vec::new(),
        sender_id: String::new(),
        sender_installation_id: Vec::new(),
        sent_at_ns: 0,
        kind: MessageKind::Application,
        content_type: String::new(),
        content: Vec::new(),
        delivery_status: DeliveryStatus::Published,
        reference_id: None,
        expires_at_ns: None,
    }
}

fn refill(out: &mut Vec<u8>, from: &[u8]) {
    out.clear();
    out.extend_from_slice(from);
}

/// A BLOB column, borrowed; any other type is the error `row.get` gives.
fn blob<'r>(row: &'r rusqlite::Row<'_>, index: usize) -> rusqlite::Result<&'r [u8]> {
    match row.get_ref(index)? {
        ValueRef::Blob(bytes) => Ok(bytes),
        other => Err(wrong_type(row, index, other.data_type())),
    }
}

fn optional_blob<'r>(
    row: &'r rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<Option<&'r [u8]>> {
    match row.get_ref(index)? {
        ValueRef::Null => Ok(None),
        ValueRef::Blob(bytes) => Ok(Some(bytes)),
        other => Err(wrong_type(row, index, other.data_type())),
    }
}

fn wrong_type(row: &rusqlite::Row<'_>, index: usize, found: Type) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(
        index,
        row.as_ref().column_name(index).unwrap_or("?").to_owned(),
        found,
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rusqlite::Connection;

    use super::*;
    use crate::rows::execute_message;
    use crate::schema::{MESSAGE_COLUMNS, REFERENCE_SCHEMA};
    use keepsake::body::records::strategy::message;

    proptest! {
        #[test]
        fn rows_come_back_exactly_in_the_order_asked_for(
            messages in proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..3).prop_flat_map(message),
                0..40,
            ),
        ) {
            let conn = Connection::open_in_memory().unwrap();
            // Messages alone, without their conversations.
            conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
            conn.execute_batch(REFERENCE_SCHEMA).unwrap();
            // Distinct ids, as the table's key wants, and their conversations'
            // positions in id order as groups.
            let mut messages = messages;
            messages.sort_by(|a, b| a.id.cmp(&b.id));
            messages.dedup_by(|a, b| a.id == b.id);
            let mut insert = conn
                .prepare(&format!("INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"))
                .unwrap();
            for m in &messages {
                execute_message(&mut insert, m).unwrap();
            }
            let mut ids: Vec<&Vec<u8>> = messages.iter().map(|m| &m.conversation_id).collect();
            ids.sort();
            ids.dedup();

            let mut window = MessageWindow::default();
            let mut select = conn
                .prepare(&format!("SELECT {MESSAGE_COLUMNS} FROM messages ORDER BY rowid"))
                .unwrap();
            let mut rows = select.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                let conversation: Vec<u8> = row.get(1).unwrap();
                let group = ids.binary_search(&&conversation).unwrap() as u32;
                window.push_row(group, row).unwrap();
            }
            prop_assert_eq!(window.len(), messages.len());
            let read = |window: &MessageWindow| -> Vec<Message> {
                let mut out = empty_message();
                (0..window.len())
                    .map(|index| {
                        window.fill(index, &mut out);
                        out.clone()
                    })
                    .collect()
            };
            prop_assert_eq!(read(&window), messages.clone());

            let mut by_conversation = messages.clone();
            by_conversation.sort_by(|a, b| {
                (&a.conversation_id, a.sent_at_ns, &a.id).cmp(&(&b.conversation_id, b.sent_at_ns, &b.id))
            });
            window.sort_by_group();
            prop_assert_eq!(read(&window), by_conversation);
            window.clear();
            prop_assert!(window.is_empty());
            prop_assert_eq!(window.bytes(), 0);
        }

        #[test]
        fn messages_pushed_come_back_in_id_order_the_first_of_equals_first(
            messages in proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..3).prop_flat_map(message),
                0..40,
            ),
        ) {
            let mut window = MessageWindow::default();
            for m in &messages {
                window.push(m).unwrap();
            }
            let mut by_id = messages.clone();
            by_id.sort_by(|a, b| a.id.cmp(&b.id));
            window.sort_by_id();
            let mut out = empty_message();
            let read: Vec<Message> = (0..window.len())
                .map(|index| {
                    window.fill(index, &mut out);
                    out.clone()
                })
                .collect();
            prop_assert_eq!(read, by_id);
        }
    }
}
