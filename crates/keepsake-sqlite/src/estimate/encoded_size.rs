//! Record sizes computed from field lengths, in SQL for the few
//! conversations and consent records, and in Rust for sampled messages,
//! following the encoding rules of spec §6.3 and Appendix B.

use keepsake::body::records::varint_len;

/// SQL for the length of the varint postcard writes for `x`, a length (at
/// most 2^35 - 1).
pub(super) fn varint_sql(x: &str) -> String {
    format!(
        "(CASE WHEN {x} < 128 THEN 1 WHEN {x} < 16384 THEN 2 WHEN {x} < 2097152 THEN 3 \
         WHEN {x} < 268435456 THEN 4 ELSE 5 END)"
    )
}

/// SQL for the length of the zigzag varint postcard writes for the i64 `x`.
pub(super) fn zigzag_sql(x: &str) -> String {
    let mut sql = String::from("(CASE");
    for bytes in 1..=9 {
        let bound = 1i64 << (7 * bytes - 1);
        sql.push_str(&format!(
            " WHEN {x} BETWEEN {} AND {} THEN {bytes}",
            -bound,
            bound - 1
        ));
    }
    sql.push_str(" ELSE 10 END)");
    sql
}

/// SQL for the encoded length of a string or byte string `len` bytes long:
/// its length prefix and its bytes.
pub(super) fn field_sql(len: &str) -> String {
    format!("({} + {len})", varint_sql(len))
}

/// The byte length of a BLOB column (SQLite reads it without the content)
/// and of a TEXT column in UTF-8.
pub(super) fn blob_len(column: &str) -> String {
    format!("length({column})")
}

pub(super) fn text_len(column: &str) -> String {
    format!("octet_length({column})")
}

/// SQL for the encoded length of an `Option` column `x` whose value encodes
/// as `some`.
pub(super) fn option_sql(x: &str, some: &str) -> String {
    format!("(CASE WHEN {x} IS NULL THEN 1 ELSE 1 + {some} END)")
}

/// SQL for the encoded length of a conversation row `c`, without its length
/// prefix: the record's tag, then each field of
/// [`Conversation`](crate::Conversation) in order, the kind as one byte;
/// `member_ids` and `metadata` are JSON in the table and a postcard
/// sequence and map in the record.
pub(super) fn conversation_size_sql() -> String {
    let text = |column: &str| field_sql(&text_len(column));
    let optional = |column: &str| option_sql(column, &text(column));
    format!(
        "2 + {id} + {created} + {name} + {peer} + {added} \
         + {members} + (SELECT ifnull(sum({value}), 0) FROM json_each(c.member_ids)) \
         + {entries} + (SELECT ifnull(sum({key} + {value}), 0) FROM json_each(c.metadata)) \
         + {last}",
        id = field_sql(&blob_len("c.id")),
        created = zigzag_sql("c.created_at_ns"),
        name = optional("c.name"),
        peer = optional("c.dm_peer"),
        added = optional("c.added_by"),
        members = varint_sql("json_array_length(c.member_ids)"),
        value = text("value"),
        entries = varint_sql("(SELECT count(*) FROM json_each(c.metadata))"),
        key = text("key"),
        last = option_sql("c.last_message_ns", &zigzag_sql("c.last_message_ns")),
    )
}

/// The encoded length of a message record, without its length prefix, from
/// the lengths of its fields and its integers: the record's tag, then each
/// field of [`Message`](crate::Message) in order, the kind and delivery
/// status one byte each.
pub(super) fn message_size(lengths: &MessageLengths) -> u64 {
    let field = |len: u64| varint_len(len) as u64 + len;
    let MessageLengths(
        _,
        id,
        conversation,
        sender,
        installation,
        sent,
        content_type,
        content,
        reference,
        expires,
    ) = *lengths;
    3 + field(id)
        + field(conversation)
        + field(sender)
        + field(installation)
        + zigzag_len(sent)
        + field(content_type)
        + field(content)
        + reference.map_or(1, |len| 1 + field(len))
        + expires.map_or(1, |at| 1 + zigzag_len(at))
}

/// The length of the zigzag varint postcard writes for `value`.
pub(super) fn zigzag_len(value: i64) -> u64 {
    varint_len(((value << 1) ^ (value >> 63)) as u64) as u64
}

/// A picked message as the walk reads it: its rowid, the byte lengths of
/// its id, conversation id, sender id, installation id, send time, content
/// type, content, reference id, and its expiry time.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
pub(super) struct MessageLengths(
    pub(super) i64,
    pub(super) u64,
    pub(super) u64,
    pub(super) u64,
    pub(super) u64,
    pub(super) i64,
    pub(super) u64,
    pub(super) u64,
    pub(super) Option<u64>,
    pub(super) Option<i64>,
);

/// SQL for [`MessageLengths`] of a message row `m`, as a JSON array.
pub(super) const MESSAGE_LENGTHS_SQL: &str = "json_array(m.rowid, length(m.id), length(m.conversation_id), \
     octet_length(m.sender_id), length(m.sender_installation_id), m.sent_at_ns, \
     octet_length(m.content_type), length(m.content), length(m.reference_id), m.expires_at_ns)";

/// SQL for the encoded length of a consent row, without its length prefix:
/// the record's tag, the entity type, the entity, the state and the time.
pub(super) fn consent_size_sql() -> String {
    format!(
        "3 + {} + {}",
        field_sql(&text_len("entity")),
        zigzag_sql("updated_at_ns")
    )
}
