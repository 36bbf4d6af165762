//! The order a records archive holds the database's records in: what
//! [`create_archive`](crate::create_archive) writes and the size estimate
//! mirrors. The format only asks that a conversation's record come before its
//! messages (spec §6.3.4); within that, the order decides how fast the
//! database is read, how well chunks compress, and how many chunks one
//! conversation is spread over.
//!
//! 1. Every selected conversation, in id order.
//! 2. The selected messages in windows of consecutive table rows (rowid
//!    order), each about [`WINDOW_BYTES`] of message fields; within a window,
//!    grouped by conversation (in id order) and each conversation's in
//!    `(sent_at_ns, id)` order.
//! 3. Every consent record, in `(entity_type, entity)` order.
//!
//! A client fills its database as it syncs, so its table holds the messages
//! of all conversations interleaved in time order. Reading them conversation
//! by conversation through an index makes every row a random page read;
//! reading the table in order is a sequential scan. Grouping each window by
//! conversation gives back most of what one conversation's run of messages
//! compresses to, and keeps a conversation in about one chunk per window
//! rather than in every chunk. A window is a few megabytes held in memory,
//! so memory stays bounded whatever the database's size.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, TransactionBehavior};

use keepsake::body::records::Record;
use keepsake::error::{Error, Result};

use crate::DbResult;
use crate::rows::{consent_from_row, conversation_from_row};
use crate::schema::MESSAGE_COLUMNS;
use crate::selection::{CreateOptions, consent_query};
use crate::window::{MessageWindow, empty_message};

/// How many bytes of message fields a window of the table holds before its
/// messages are grouped and written: two windows are in memory at once when
/// the database is read on a thread of its own.
pub(crate) const WINDOW_BYTES: usize = 8 << 20;

/// What the database reader hands over, in archive order.
pub(crate) enum Piece {
    /// How many records the selection holds, before any of them.
    Total(u64),
    /// A conversation or consent record.
    Record(Record),
    /// A window of messages, in archive order.
    Messages(MessageWindow),
}

/// What [`read_selection`] reports, in order.
pub(crate) enum Event<'a> {
    /// How many records follow.
    Total(u64),
    /// The next record.
    Record(&'a Record),
}

/// Which of the selected messages to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MessageFilter {
    /// All of them.
    All,
    /// Those whose content is shorter than this many bytes.
    SmallerThan(i64),
}

/// The query of the messages between rowids `:first` and `:last` (both
/// included) that `options` and `filter` select, as `m`, in table order: a
/// scan of the table, never of an index.
fn message_scan_query(options: &CreateOptions, filter: MessageFilter) -> String {
    format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages AS m NOT INDEXED \
         WHERE m.rowid BETWEEN :first AND :last{}{} ORDER BY m.rowid",
        options.range_condition(),
        match filter {
            MessageFilter::All => "",
            MessageFilter::SmallerThan(_) => " AND length(m.content) < :large",
        }
    )
}

/// The first and last rowid of the messages `options` selects; `None` when
/// none is. Through the time index when there is a range, so that a range
/// reads only its part of the table.
pub(crate) fn message_span(
    conn: &Connection,
    options: &CreateOptions,
) -> Result<Option<(i64, i64)>> {
    let sql = if options.start_ns.is_some() || options.end_ns.is_some() {
        format!(
            "SELECT min(m.rowid), max(m.rowid) FROM messages AS m WHERE 1{}",
            options.range_condition()
        )
    } else {
        // Two subqueries: SQLite finds a lone min() or max() at one end of
        // the table, but computes both in one query by reading every row.
        "SELECT (SELECT min(rowid) FROM messages), (SELECT max(rowid) FROM messages)".to_owned()
    };
    let (first, last): (Option<i64>, Option<i64>) = conn
        .query_row(&sql, options.range_params().as_slice(), |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .db()?;
    Ok(first.zip(last))
}

/// The conversations written, each with its position in id order: a
/// message goes only after its conversation, and a window sorts by position.
type Positions = HashMap<Vec<u8>, u32>;

fn position(positions: &Positions) -> Result<u32> {
    u32::try_from(positions.len()).map_err(|_| Error::invalid("more than 2^32 conversations"))
}

/// Reads the records `options` selects from the snapshot `conn` is in, in
/// archive order, handing them to `send` a conversation or consent record at
/// a time and the messages a window at a time. `send` may hand back an
/// emptied window for the reader to fill again.
pub(crate) fn read_pieces(
    conn: &Connection,
    options: &CreateOptions,
    send: &mut dyn FnMut(Piece) -> Result<Option<MessageWindow>>,
) -> Result<()> {
    read_pieces_in(conn, options, WINDOW_BYTES, send)
}

/// As [`read_pieces`], with windows of `window_bytes`.
fn read_pieces_in(
    conn: &Connection,
    options: &CreateOptions,
    window_bytes: usize,
    send: &mut dyn FnMut(Piece) -> Result<Option<MessageWindow>>,
) -> Result<()> {
    if options.elements.messages {
        let mut positions = Positions::new();
        {
            let mut conversations = conn.prepare(&options.conversation_query()).db()?;
            let mut rows = conversations
                .query(options.range_params().as_slice())
                .db()?;
            while let Some(row) = rows.next().db()? {
                let conversation = conversation_from_row(row).db()?;
                positions.insert(conversation.id.clone(), position(&positions)?);
                send(Piece::Record(Record::Conversation(conversation)))?;
            }
        }
        read_windows(
            conn,
            options,
            &positions,
            MessageFilter::All,
            window_bytes,
            &mut |window| send(Piece::Messages(window)),
        )?;
    }
    if options.elements.consent {
        let mut consent = conn.prepare(&consent_query()).db()?;
        let mut rows = consent.query([]).db()?;
        while let Some(row) = rows.next().db()? {
            send(Piece::Record(Record::Consent(consent_from_row(row).db()?)))?;
        }
    }
    Ok(())
}

/// Reads the selected messages of the conversations in `positions` that
/// `filter` takes, in archive order, a window at a time.
fn read_windows(
    conn: &Connection,
    options: &CreateOptions,
    positions: &Positions,
    filter: MessageFilter,
    window_bytes: usize,
    send: &mut dyn FnMut(MessageWindow) -> Result<Option<MessageWindow>>,
) -> Result<()> {
    let Some((first, last)) = message_span(conn, options)? else {
        return Ok(());
    };
    let mut statement = conn.prepare(&message_scan_query(options, filter)).db()?;
    let large = match filter {
        MessageFilter::All => None,
        MessageFilter::SmallerThan(large) => Some(large),
    };
    let mut params = options.range_params();
    params.extend([(":first", &first as &dyn rusqlite::ToSql), (":last", &last)]);
    if let Some(large) = &large {
        params.push((":large", large));
    }
    let mut rows = statement.query(params.as_slice()).db()?;
    let mut window = MessageWindow::default();
    while let Some(row) = rows.next().db()? {
        // A message whose conversation row is missing (possible only in a
        // database written with foreign keys off) is left out.
        let ValueRef::Blob(conversation) = row.get_ref(1).db()? else {
            continue;
        };
        let Some(&position) = positions.get(conversation) else {
            continue;
        };
        window.push_row(position, row).db()?;
        if window.bytes() >= window_bytes {
            window.sort_by_group();
            let full = std::mem::take(&mut window);
            window = send(full)?.unwrap_or_default();
            window.clear();
        }
    }
    if !window.is_empty() {
        window.sort_by_group();
        send(window)?;
    }
    Ok(())
}

/// Reads the selected messages that `filter` takes, in archive order,
/// passing each to `emit`. The caller holds the snapshot's transaction.
pub(crate) fn read_messages(
    conn: &Connection,
    options: &CreateOptions,
    filter: MessageFilter,
    emit: &mut dyn FnMut(&Record) -> Result<()>,
) -> Result<()> {
    let mut positions = Positions::new();
    let mut statement = conn
        .prepare(&format!(
            "SELECT c.id FROM {} ORDER BY c.id",
            options.conversation_selection()
        ))
        .db()?;
    let mut rows = statement.query(options.range_params().as_slice()).db()?;
    while let Some(row) = rows.next().db()? {
        let id: Vec<u8> = row.get(0).db()?;
        let at = position(&positions)?;
        positions.insert(id, at);
    }
    let mut scratch = Record::Message(empty_message());
    read_windows(
        conn,
        options,
        &positions,
        filter,
        WINDOW_BYTES,
        &mut |window| {
            unpack(
                Piece::Messages(window),
                &mut scratch,
                &mut |event| match event {
                    Event::Total(_) => Ok(()),
                    Event::Record(record) => emit(record),
                },
            )
        },
    )
}

/// Hands what `piece` holds to `emit`, in order, one message at a time
/// through `scratch`; returns the window it held, emptied, for reuse.
pub(crate) fn unpack(
    piece: Piece,
    scratch: &mut Record,
    emit: &mut dyn FnMut(Event<'_>) -> Result<()>,
) -> Result<Option<MessageWindow>> {
    match piece {
        Piece::Total(total) => emit(Event::Total(total)).map(|()| None),
        Piece::Record(record) => emit(Event::Record(&record)).map(|()| None),
        Piece::Messages(mut window) => {
            if !matches!(scratch, Record::Message(_)) {
                *scratch = Record::Message(empty_message());
            }
            for index in 0..window.len() {
                if let Record::Message(message) = scratch {
                    window.fill(index, message);
                }
                emit(Event::Record(scratch))?;
            }
            window.clear();
            Ok(Some(window))
        }
    }
}

/// Reads the records `options` selects, in archive order, passing each to
/// `emit`. The caller holds the transaction that makes the reads one snapshot.
pub(crate) fn read_snapshot(
    conn: &Connection,
    options: &CreateOptions,
    emit: &mut dyn FnMut(&Record) -> Result<()>,
) -> Result<()> {
    let mut scratch = Record::Message(empty_message());
    read_pieces(conn, options, &mut |piece| {
        unpack(piece, &mut scratch, &mut |event| match event {
            Event::Total(_) => Ok(()),
            Event::Record(record) => emit(record),
        })
    })
}

/// Reads the selection of `options` from `conn` as one snapshot (a read
/// transaction), in archive order: first its total, then every record. With
/// `own_thread`, SQLite is read on a thread of its own while `emit` runs on
/// this one, a window of messages ahead.
pub(crate) fn read_selection(
    conn: &mut Connection,
    options: &CreateOptions,
    own_thread: bool,
    emit: &mut dyn FnMut(Event<'_>) -> Result<()>,
) -> Result<()> {
    if !own_thread {
        let snapshot = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .db()?;
        let mut scratch = Record::Message(empty_message());
        unpack(
            Piece::Total(options.count_records(&snapshot)?),
            &mut scratch,
            emit,
        )?;
        read_pieces(&snapshot, options, &mut |piece| {
            unpack(piece, &mut scratch, emit)
        })?;
        // Ends the read transaction; nothing was written through it.
        return snapshot.commit().db();
    }
    std::thread::scope(|scope| {
        // A rendezvous: the reader fills the next window while this thread
        // writes the last one, and no more than those two exist.
        let (pieces, received) = sync_channel::<Piece>(0);
        let (recycle, recycled) = channel::<MessageWindow>();
        let reader = scope.spawn(move || -> Result<()> {
            let snapshot = conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .db()?;
            // The receiving end is gone only when writing failed, and that
            // failure is the one reported.
            let stopped = || Error::invalid("the archive writer stopped");
            pieces
                .send(Piece::Total(options.count_records(&snapshot)?))
                .map_err(|_| stopped())?;
            read_pieces(&snapshot, options, &mut |piece| {
                pieces.send(piece).map_err(|_| stopped())?;
                Ok(recycled.try_recv().ok())
            })?;
            snapshot.commit().db()
        });
        let written = write_pieces(received, recycle, emit);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(Error::invalid("the database reader failed unexpectedly")));
        written.and(read)
    })
}

/// Unpacks every piece `received` brings, sending emptied windows back. It
/// owns the receiving end, so that returning early stops the reader.
fn write_pieces(
    received: Receiver<Piece>,
    recycle: Sender<MessageWindow>,
    emit: &mut dyn FnMut(Event<'_>) -> Result<()>,
) -> Result<()> {
    let mut scratch = Record::Message(empty_message());
    for piece in received {
        if let Some(window) = unpack(piece, &mut scratch, emit)? {
            // The reader may have finished; then nobody needs it.
            let _ = recycle.send(window);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::sample::{SampleOptions, write_sample};
    use keepsake::body::records::Message;

    fn sample(messages: u64) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sample.db");
        write_sample(
            &db,
            &SampleOptions {
                messages,
                conversations: 40,
                ..SampleOptions::default()
            },
        )
        .unwrap();
        (dir, db)
    }

    /// The records of `db` as read with windows of `window_bytes`, the
    /// messages cut into their windows.
    fn windows(
        conn: &Connection,
        window_bytes: usize,
    ) -> (Vec<Record>, Vec<Vec<Message>>, Vec<Record>) {
        let (mut before, mut windows, mut after) = (Vec::new(), Vec::new(), Vec::new());
        let mut scratch = Record::Message(empty_message());
        read_pieces_in(
            conn,
            &CreateOptions::default(),
            window_bytes,
            &mut |piece| {
                match piece {
                    Piece::Record(record) if windows.is_empty() => before.push(record),
                    Piece::Record(record) => after.push(record),
                    Piece::Total(_) => unreachable!("read_pieces reads no total"),
                    Piece::Messages(window) => {
                        let mut messages = Vec::new();
                        let back = unpack(Piece::Messages(window), &mut scratch, &mut |event| {
                            if let Event::Record(Record::Message(m)) = event {
                                messages.push(m.clone());
                            }
                            Ok(())
                        })?;
                        windows.push(messages);
                        return Ok(back);
                    }
                }
                Ok(None)
            },
        )
        .unwrap();
        (before, windows, after)
    }

    #[test]
    fn conversations_then_windows_of_the_table_grouped_by_conversation_then_consent() {
        let (_dir, db) = sample(3000);
        let conn = Connection::open(&db).unwrap();
        let (conversations, windows, consent) = windows(&conn, 64 << 10);
        assert!(windows.len() > 3, "{} windows", windows.len());

        let ids: Vec<Vec<u8>> = conversations
            .iter()
            .map(|record| match record {
                Record::Conversation(c) => c.id.clone(),
                other => panic!("{other:?} among the conversations"),
            })
            .collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(ids.len(), 40);
        assert!(
            consent
                .iter()
                .all(|record| matches!(record, Record::Consent(_)))
        );
        let consent_count: i64 = conn
            .query_row("SELECT count(*) FROM consent", [], |row| row.get(0))
            .unwrap();
        assert_eq!(consent.len() as i64, consent_count);

        let rowid = |id: &[u8]| -> i64 {
            conn.query_row("SELECT rowid FROM messages WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .unwrap()
        };
        let mut seen = 0;
        let mut previous_last = i64::MIN;
        for window in &windows {
            let key = |m: &Message| (m.conversation_id.clone(), m.sent_at_ns, m.id.clone());
            assert!(window.windows(2).all(|pair| key(&pair[0]) <= key(&pair[1])));
            // Each window is a run of consecutive rows of the table.
            let rowids: Vec<i64> = window.iter().map(|m| rowid(&m.id)).collect();
            let (first, last) = (*rowids.iter().min().unwrap(), *rowids.iter().max().unwrap());
            assert!(first > previous_last);
            assert_eq!(last - first + 1, rowids.len() as i64);
            previous_last = last;
            seen += window.len();
        }
        assert_eq!(seen, 3000);
    }

    /// Every record and the total of a [`read_selection`].
    fn selection(db: &PathBuf, own_thread: bool) -> Result<(Option<u64>, Vec<Record>)> {
        let mut conn = Connection::open(db).unwrap();
        let (mut total, mut records) = (None, Vec::new());
        read_selection(
            &mut conn,
            &CreateOptions::default(),
            own_thread,
            &mut |event| {
                match event {
                    Event::Total(n) => total = Some(n),
                    Event::Record(record) => records.push(record.clone()),
                }
                Ok(())
            },
        )?;
        Ok((total, records))
    }

    #[test]
    fn reading_on_a_thread_of_its_own_reads_the_same_records() {
        let (_dir, db) = sample(2500);
        let here = selection(&db, false).unwrap();
        let there = selection(&db, true).unwrap();
        assert_eq!(here.0, Some(here.1.len() as u64));
        assert_eq!(here, there);
    }

    #[test]
    fn a_failure_on_either_side_stops_both() {
        let (_dir, db) = sample(2500);
        for own_thread in [false, true] {
            // The writing side gives up half-way.
            let mut conn = Connection::open(&db).unwrap();
            let mut written = 0;
            let result = read_selection(
                &mut conn,
                &CreateOptions::default(),
                own_thread,
                &mut |event| {
                    if let Event::Record(_) = event {
                        written += 1;
                        if written == 1000 {
                            return Err(Error::Cancelled);
                        }
                    }
                    Ok(())
                },
            );
            assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
            assert_eq!(written, 1000);
        }
        // The reading side finds a damaged row.
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "PRAGMA ignore_check_constraints = ON;
             UPDATE messages SET kind = 'bogus' WHERE rowid = (SELECT max(rowid) FROM messages);",
        )
        .unwrap();
        drop(conn);
        for own_thread in [false, true] {
            let result = selection(&db, own_thread);
            assert!(matches!(result, Err(Error::Database(_))), "{result:?}");
        }
    }

    #[test]
    fn messages_are_read_in_table_order_without_sorting() {
        let (_dir, db) = sample(10);
        let conn = Connection::open(&db).unwrap();
        let plan = |sql: &str, params: &[(&str, &dyn rusqlite::ToSql)]| -> String {
            let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let details: Vec<String> = statement
                .query_map(params, |row| row.get::<_, String>(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            details.join("; ")
        };
        for (start_ns, end_ns) in [
            (None, None),
            (Some(1), None),
            (None, Some(2)),
            (Some(1), Some(2)),
        ] {
            let options = CreateOptions {
                start_ns,
                end_ns,
                ..CreateOptions::default()
            };
            let mut params = options.range_params();
            let conversations = plan(&options.conversation_query(), &params);
            assert!(!conversations.contains("TEMP B-TREE"), "{conversations}");
            params.extend([(":first", &1 as &dyn rusqlite::ToSql), (":last", &2)]);
            let scan = plan(&message_scan_query(&options, MessageFilter::All), &params);
            assert!(!scan.contains("TEMP B-TREE"), "{scan}");
            assert!(
                scan.contains("INTEGER PRIMARY KEY (rowid>? AND rowid<?)"),
                "{scan}"
            );
            if start_ns.is_some() || end_ns.is_some() {
                // The span of a range comes off the time index alone.
                let span = plan(
                    &format!(
                        "SELECT min(m.rowid), max(m.rowid) FROM messages AS m WHERE 1{}",
                        options.range_condition()
                    ),
                    &options.range_params(),
                );
                assert!(
                    span.contains("COVERING INDEX messages_by_sent_at"),
                    "{span}"
                );
            }
        }
    }
}
