//! What an import does with each record: the rules that keep it additive and
//! keep an archive's writer from changing what the application owns.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

use keepsake::body::records::Record;
use keepsake::error::{Error, Result};

use super::ImportReport;
use crate::rows::{InsertMode, RecordInserter, hex, is_active};
use crate::window::MessageWindow;

/// How far ahead of this machine's clock a consent record may be dated and
/// still be imported: a decision dated later would win over every decision
/// the user makes until then (the newer decision wins, see
/// [`crate::REFERENCE_SCHEMA`]).
pub const CONSENT_CLOCK_SKEW_NS: i64 = 24 * 3600 * 1_000_000_000;

/// How many bytes of messages (their fields and a row each) are held to be
/// inserted in id order, whatever the messages hold: rows in
/// id order go into the table's primary key index near one another, where
/// rows in archive order land all over it; the more of them, the nearer.
/// (Measured on a million messages: a window of 16 MiB and a page cache of
/// 8 MiB insert in half the time of no window and a 24 MiB cache; 8 MiB
/// takes a few percent longer and keeps an import's memory near 56 MiB,
/// where 16 MiB took it to 64.)
pub(super) const WINDOW_BYTES: usize = 8 << 20;

/// Inserts an archive's records into one transaction, counting what it
/// did with each.
pub(super) struct Importer<'t> {
    conn: &'t Connection,
    inserter: RecordInserter<'t>,
    report: ImportReport,
    /// Conversations the database already had, active: their messages are
    /// left out.
    active: HashSet<Vec<u8>>,
    /// Every conversation whose record came: a message may only follow its
    /// own, which is what lets a new database be filled without checking
    /// each message's foreign key.
    known: HashSet<Vec<u8>>,
    window: MessageWindow,
    /// Consent records dated after this are left out.
    latest_consent_ns: i64,
}

impl<'t> Importer<'t> {
    pub(super) fn new(conn: &'t Connection) -> Result<Self> {
        let now_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
            });
        Ok(Importer {
            conn,
            inserter: RecordInserter::new(conn, InsertMode::Additive)?,
            report: ImportReport::default(),
            active: HashSet::new(),
            known: HashSet::new(),
            window: MessageWindow::default(),
            latest_consent_ns: now_ns.saturating_add(CONSENT_CLOCK_SKEW_NS),
        })
    }

    /// Imports one record, or holds it to be imported with its neighbours.
    ///
    /// - A conversation is inserted unless the database has it; one it has
    ///   and that is active (the application's own, not an earlier import's)
    ///   gets none of the archive's messages.
    /// - A message is inserted unless the database has its id.
    /// - A consent record replaces the database's only when strictly newer,
    ///   and is left out when dated more than [`CONSENT_CLOCK_SKEW_NS`]
    ///   ahead of this machine's clock.
    pub(super) fn add(&mut self, record: &Record) -> Result<()> {
        match record {
            Record::Conversation(conversation) => {
                let inserted = self.inserter.insert(record)?;
                if !inserted && is_active(self.conn, &conversation.id)? {
                    self.active.insert(conversation.id.clone());
                }
                self.known.insert(conversation.id.clone());
                self.report.count(record, inserted);
            }
            Record::Message(message) => {
                if !self.known.contains(&message.conversation_id) {
                    return Err(Error::invalid(format!(
                        "message {} came before its conversation's record",
                        hex(&message.id)
                    )));
                }
                if self.active.contains(&message.conversation_id) {
                    self.report.active_conversation_messages += 1;
                    return Ok(());
                }
                self.window.push(message)?;
                if self.window.held_bytes() >= WINDOW_BYTES {
                    self.flush()?;
                }
            }
            Record::Consent(consent) => {
                if consent.updated_at_ns > self.latest_consent_ns {
                    self.report.future_consent += 1;
                    return Ok(());
                }
                let inserted = self.inserter.insert(record)?;
                self.report.count(record, inserted);
            }
        }
        Ok(())
    }

    /// Inserts the messages held, in id order; the first of equal ids wins.
    fn flush(&mut self) -> Result<()> {
        self.window.sort_by_id();
        let window = &self.window;
        let inserted = self
            .inserter
            .insert_messages(window.len(), &|index| Ok(window.fields(index)))?;
        let counts = &mut self.report.messages;
        counts.inserted += inserted;
        counts.skipped += window.len() as u64 - inserted;
        self.window.clear();
        Ok(())
    }

    /// Inserts whatever is still held and reports what the import did.
    pub(super) fn finish(mut self) -> Result<ImportReport> {
        self.flush()?;
        Ok(self.report)
    }
}
