//! What a records archive takes from a database in the reference schema:
//! the options of a create, and the SQL that selects and counts their rows.

use rusqlite::{Connection, ToSql};

use keepsake::body::records::{ArchiveMetadata, ArchiveMode, Elements};
use keepsake::error::{Error, Result};
use keepsake::progress::Progress;
use keepsake::stream::writer::WriterOptions;

use crate::DbResult;
use crate::schema::{CONSENT_COLUMNS, CONVERSATION_COLUMNS};

/// How many conversations the message count looks up one by one before
/// it steps through every message's index entry instead.
const MAX_COUNT_SEEKS: i64 = 16_384;

/// What [`create_archive`](crate::create_archive) writes.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    /// Only messages sent at or after this time (nanoseconds since the Unix epoch).
    pub start_ns: Option<i64>,
    /// Only messages sent before this time (exclusive).
    pub end_ns: Option<i64>,
    /// Which kinds of data to include; at least one must be chosen.
    pub elements: Elements,
    /// Chunking and compression.
    pub writer: WriterOptions,
    /// Where progress goes, and how the caller cancels.
    pub progress: Progress,
}

impl CreateOptions {
    pub(crate) fn validate(&self) -> Result<()> {
        if !self.elements.messages && !self.elements.consent {
            return Err(Error::invalid(
                "nothing to archive: choose messages, consent or both",
            ));
        }
        if let (Some(start), Some(end)) = (self.start_ns, self.end_ns)
            && start >= end
        {
            return Err(Error::invalid(format!(
                "the time range is empty: its start ({start}) must be before its end ({end})"
            )));
        }
        Ok(())
    }

    /// The metadata chunk of an archive created with these options.
    pub(crate) fn metadata(&self) -> ArchiveMetadata {
        let mut metadata = ArchiveMetadata::now();
        metadata.mode = ArchiveMode::Records;
        metadata.elements = self.elements;
        metadata.start_ns = self.start_ns;
        metadata.end_ns = self.end_ns;
        metadata
    }

    /// The conversations to archive, in id order.
    pub(crate) fn conversation_query(&self) -> String {
        format!(
            "SELECT {CONVERSATION_COLUMNS} FROM {} ORDER BY c.id",
            self.conversation_selection()
        )
    }

    /// The `FROM` clause of the conversations to archive, as `c`: all of them,
    /// or with a time range those with a message in it.
    pub(crate) fn conversation_selection(&self) -> String {
        if self.start_ns.is_some() || self.end_ns.is_some() {
            format!(
                "conversations AS c WHERE EXISTS \
                 (SELECT 1 FROM messages AS m WHERE m.conversation_id = c.id{})",
                self.range_condition()
            )
        } else {
            "conversations AS c".to_owned()
        }
    }

    /// The `FROM` clause of all the messages to archive, as `m`.
    pub(crate) fn message_selection(&self) -> String {
        format!("messages AS m WHERE {}", self.message_condition())
    }

    /// The condition on `m` of the messages to archive: those in the time
    /// range whose conversation exists. (`IN` rather than `EXISTS`, so that
    /// SQLite walks the index by conversation instead of every row.)
    pub(crate) fn message_condition(&self) -> String {
        format!(
            "m.conversation_id IN (SELECT id FROM conversations){}",
            self.range_condition()
        )
    }

    /// The SQL condition on `m.sent_at_ns` for the time range, using the
    /// named parameters `:start` and `:end`; empty without a range.
    pub(crate) fn range_condition(&self) -> String {
        let mut condition = String::new();
        if self.start_ns.is_some() {
            condition.push_str(" AND m.sent_at_ns >= :start");
        }
        if self.end_ns.is_some() {
            condition.push_str(" AND m.sent_at_ns < :end");
        }
        condition
    }

    /// How many records the selection holds in the snapshot `conn` reads:
    /// the total a create reports progress against.
    pub(crate) fn count_records(&self, conn: &Connection) -> Result<u64> {
        let count = |sql: &str, params: &[(&str, &dyn ToSql)]| -> Result<u64> {
            Ok(conn
                .query_row(sql, params, |row| row.get::<_, i64>(0))
                .db()?
                .max(0) as u64)
        };
        let mut total = 0;
        if self.elements.messages {
            total += count(
                &format!("SELECT count(*) FROM {}", self.conversation_selection()),
                self.range_params().as_slice(),
            )?;
            total += self.count_messages(conn)?.max(0) as u64;
        }
        if self.elements.consent {
            total += count("SELECT count(*) FROM consent", &[])?;
        }
        Ok(total)
    }

    /// Counts the selected messages. Without a time range, when every
    /// conversation that has messages exists, that is the table's row count,
    /// which SQLite reads off the pages of its smallest index; one seek of
    /// the conversation index per conversation tells whether they all
    /// exist. Otherwise it steps through the selection's index entries:
    /// about 12 ms per 200,000 messages.
    pub(crate) fn count_messages(&self, conn: &Connection) -> Result<i64> {
        let options = self;
        if options.start_ns.is_none() && options.end_ns.is_none() {
            let (rows, indexed): (i64, bool) = conn
                .query_row(
                    "SELECT (SELECT count(*) FROM messages), EXISTS (SELECT 1 FROM \
                 pragma_index_info('messages_by_conversation') \
                 WHERE seqno = 0 AND name = 'conversation_id')",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .db()?;
            if indexed {
                // The distinct conversation ids of the messages, one seek
                // each, up to a bound; whether the walk ended, and how many
                // of those it found have no conversation.
                let (ended, orphaned): (bool, i64) = conn
                    .query_row(
                        "WITH RECURSIVE ids(id, step) AS ( \
                     SELECT (SELECT min(conversation_id) FROM messages), 0 UNION ALL \
                     SELECT (SELECT min(conversation_id) FROM messages \
                     WHERE conversation_id > ids.id), step + 1 \
                     FROM ids WHERE ids.id IS NOT NULL AND step < :seeks) \
                     SELECT ifnull(max(id IS NULL), 0), \
                     count(*) FILTER (WHERE id NOT IN (SELECT id FROM conversations)) FROM ids",
                        rusqlite::named_params! { ":seeks": MAX_COUNT_SEEKS },
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .db()?;
                if ended && orphaned == 0 {
                    return Ok(rows);
                }
            }
        }
        let params = options.range_params();
        conn.query_row(
            &format!("SELECT count(*) FROM {}", options.message_selection()),
            params.as_slice(),
            |row| row.get(0),
        )
        .db()
    }

    /// The values for [`CreateOptions::range_condition`]'s parameters.
    pub(crate) fn range_params(&self) -> Vec<(&'static str, &dyn ToSql)> {
        let mut params: Vec<(&'static str, &dyn ToSql)> = Vec::new();
        if let Some(start) = &self.start_ns {
            params.push((":start", start));
        }
        if let Some(end) = &self.end_ns {
            params.push((":end", end));
        }
        params
    }
}

/// The consent records to archive, in archive order.
pub(crate) fn consent_query() -> String {
    format!("SELECT {CONSENT_COLUMNS} FROM consent ORDER BY entity_type, entity")
}
