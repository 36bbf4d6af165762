//! The sampler: counts the selected messages through their index, sizes runs
//! of them spread over the table, and compresses windows of records and
//! slices of large contents as the writer would.

use std::collections::HashMap;

use rusqlite::{Connection, Row, ToSql};

use super::batcher::{Batcher, Mean, Slice, Tally, Window};
use super::encoded_size::{
    MESSAGE_LENGTHS_SQL, MessageLengths, consent_size_sql, conversation_size_sql, message_size,
    varint_sql,
};
use super::stats::{Placement, Stratum, plan};
use super::{COUNTED, PICKED, RUN};
use crate::DbResult;
use crate::order::{MessageFilter, WINDOW_BYTES, message_span, read_messages};
use crate::rows::{consent_from_row, conversation_from_row, message_from_row};
use crate::schema::MESSAGE_COLUMNS;
use crate::selection::{CreateOptions, consent_query};
use keepsake::body::compress::Compressor;
use keepsake::body::records::{BatchBuilder, Record, varint_len};
use keepsake::error::{Error, Result};

/// How many messages have their content counted, to pin down the share of
/// large ones: an eighth of them, within these bounds. About [`PICKED`] of
/// those (every one, every second, up to every [`COUNTED`]-th run) are
/// picked and sized from all their fields. Both come in runs of [`RUN`]
/// consecutive rowids: neighbours share a table page, so a run costs about
/// one page read.
const MIN_COUNTED: f64 = 4096.0;
const MAX_COUNTED: f64 = 16384.0;
/// A message's fields other than its content come to about this many bytes
/// when none was picked to measure them.
const GUESSED_OVERHEAD: f64 = 200.0;
/// A message whose content is at least this long is large: sampled on its
/// own rather than in a window of its neighbours.
const LARGE_CONTENT: i64 = 1024;
/// The bytes of one large message compressed for the sample: its middle.
const SLICE: usize = 4 << 10;
/// How many large messages are compressed: every one picked, up to this
/// many. Their compressibility varies most, but SQLite reads the whole of a
/// message to cut a slice of it.
const MAX_SLICES: usize = 128;

/// A message picked to size the messages by.
#[derive(Clone, Copy, Debug)]
pub(super) struct Picked {
    pub(super) rowid: i64,
    /// Its entry in a record batch: length prefix and encoding.
    pub(super) entry: f64,
    /// Its content's length.
    pub(super) content: u64,
    pub(super) large: bool,
}

/// What one walk of the selected messages found.
#[derive(Debug, Default)]
pub(super) struct Walk {
    /// Messages selected (exact).
    pub(super) count: u64,
    /// Among the counted ones: how many, how many large, their content
    /// bytes, and the content bytes of the small ones.
    pub(super) counted: f64,
    pub(super) large: f64,
    pub(super) content: f64,
    pub(super) small_content: f64,
    pub(super) picked: Vec<Picked>,
}

/// A walk as SQLite returns it: the counted ones' count, large count,
/// content and clipped content, the picked ones' lengths as JSON, and the
/// count of all (0 where counted apart).
pub(super) type WalkRow = (i64, i64, i64, i64, String, i64);

impl Walk {
    pub(super) fn read(row: &Row<'_>) -> rusqlite::Result<WalkRow> {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
        ))
    }

    pub(super) fn parse(
        (counted, large, content, clipped, picked, count): WalkRow,
    ) -> Result<Walk> {
        let picked: Vec<MessageLengths> = serde_json::from_str(&picked).map_err(|error| {
            Error::invalid(format!("the message sample is unreadable: {error}"))
        })?;
        Ok(Walk {
            count: count.max(0) as u64,
            counted: counted as f64,
            large: large as f64,
            content: content as f64,
            // Contents shorter than the threshold sum to the clipped sum less
            // the threshold once per large message.
            small_content: clipped.saturating_sub(large * LARGE_CONTENT) as f64,
            picked: picked
                .iter()
                .map(|lengths| {
                    let size = message_size(lengths);
                    Picked {
                        rowid: lengths.0,
                        entry: (varint_len(size) as u64 + size) as f64,
                        content: lengths.7,
                        large: lengths.7 >= LARGE_CONTENT as u64,
                    }
                })
                .collect(),
        })
    }
}

/// What [`Sampler::messages`] found.
pub(super) struct Messages {
    /// Messages selected (exact), and how many were picked.
    pub(super) count: u64,
    pub(super) picked: f64,
    pub(super) small: Stratum,
    pub(super) large: Stratum,
}

/// Reads the samples of one snapshot.
pub(super) struct Sampler<'a> {
    pub(super) conn: &'a Connection,
    pub(super) options: &'a CreateOptions,
    pub(super) compressor: Compressor,
}

/// Named parameters of a statement.
pub(super) type Params<'p> = Vec<(&'static str, &'p dyn ToSql)>;

impl Sampler<'_> {
    /// A batcher that takes records until `limit` bytes of them.
    pub(super) fn batcher(&mut self, limit: f64) -> Batcher<'_> {
        Batcher {
            compressor: &mut self.compressor,
            chunk_size: self.options.writer.chunk_size as usize,
            batch: BatchBuilder::new(),
            scratch: Vec::new(),
            limit,
            window: Window::default(),
        }
    }

    /// The conversation records: sizes exact from SQL, compression from
    /// windows of consecutive records.
    pub(super) fn conversations(&mut self) -> Result<Stratum> {
        let options = self.options;
        let from = format!("{} LIMIT -1 OFFSET 0", options.conversation_selection());
        let (records, bytes) =
            self.totals(&conversation_size_sql(), &from, options.range_params())?;
        self.windows(
            &options.conversation_query(),
            options.range_params(),
            Stratum {
                records,
                bytes,
                ..Stratum::default()
            },
            |row| Ok(Record::Conversation(conversation_from_row(row)?)),
        )
    }

    /// The consent records, as the conversations; the time range does not
    /// apply to them.
    pub(super) fn consent(&mut self) -> Result<Stratum> {
        let (records, bytes) =
            self.totals(&consent_size_sql(), "consent LIMIT -1 OFFSET 0", Vec::new())?;
        self.windows(
            &consent_query(),
            Vec::new(),
            Stratum {
                records,
                bytes,
                placement: Placement::Contiguous,
                ..Stratum::default()
            },
            |row| Ok(Record::Consent(consent_from_row(row)?)),
        )
    }

    /// Counts the rows of `from` and sums their entry sizes: `size` and its
    /// length prefix. (`LIMIT -1 OFFSET 0` in `from` keeps SQLite from
    /// computing `size` once for every use of it.)
    pub(super) fn totals(&self, size: &str, from: &str, params: Params<'_>) -> Result<(u64, f64)> {
        let sql = format!(
            "SELECT count(*), ifnull(sum(e + {}), 0) FROM (SELECT {size} AS e FROM {from})",
            varint_sql("e")
        );
        let (count, sum): (i64, i64) = self
            .conn
            .query_row(&sql, params.as_slice(), |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .db()?;
        Ok((count.max(0) as u64, sum.max(0) as f64))
    }

    /// Samples the records `query` reads in archive order, in windows at
    /// evenly spread offsets, into `stratum` (whose size is known).
    pub(super) fn windows(
        &mut self,
        query: &str,
        params: Params<'_>,
        mut stratum: Stratum,
        read: impl Fn(&Row<'_>) -> rusqlite::Result<Record>,
    ) -> Result<Stratum> {
        stratum.pooled = true;
        stratum.complete = true;
        if stratum.records == 0 {
            return Ok(stratum);
        }
        let plan = plan(stratum.bytes);
        let (windows, window) = plan.unwrap_or((1, f64::INFINITY));
        stratum.complete = plan.is_none();
        let conn = self.conn;
        let mut statement = conn
            .prepare(&format!("{query} LIMIT -1 OFFSET :skip"))
            .db()?;
        let records = stratum.records as f64;
        let per_record = stratum.bytes / records;
        let mut tally = Tally::default();
        for index in 0..windows {
            let skip = if stratum.complete {
                0
            } else {
                let centre = records * (index as f64 + 0.5) / windows as f64;
                (centre - window / per_record / 2.0).max(0.0) as i64
            };
            let mut params = params.clone();
            params.push((":skip", &skip));
            let mut rows = statement.query(params.as_slice()).db()?;
            let mut batcher = self.batcher(window);
            while !batcher.full() {
                let Some(row) = rows.next().db()? else { break };
                batcher.push(&read(row).db()?)?;
            }
            tally.add(batcher.finish());
        }
        tally.close(&mut stratum);
        Ok(stratum)
    }

    /// The messages: the exact count, sizes from the counted and picked
    /// ones, then windows of small messages and slices of large ones.
    pub(super) fn messages(&mut self) -> Result<Messages> {
        let walk = self.pick_messages()?;
        let count = walk.count as f64;
        let scale = if walk.counted > 0.0 {
            count / walk.counted
        } else {
            0.0
        };
        let every_row = walk.picked.len() as u64 >= walk.count;
        let (small_rows, large_rows): (Vec<Picked>, Vec<Picked>) =
            walk.picked.iter().partition(|p| !p.large);
        // The fields other than the content, and the framing, vary little:
        // the picked messages measure them.
        let overhead = |rows: &[Picked]| {
            let mut mean = Mean::default();
            for pick in rows {
                mean.add(pick.entry - pick.content as f64, 1.0);
            }
            mean.value()
        };
        let fallback = overhead(&walk.picked).unwrap_or(GUESSED_OVERHEAD);
        let large_count = walk.large * scale;
        let small_count = count - large_count;
        let part = |rows: &[Picked], records: f64, bytes: f64, placement| {
            let sum: f64 = rows.iter().map(|p| p.entry).sum();
            let squares: f64 = rows.iter().map(|p| p.entry * p.entry).sum();
            Stratum {
                records: records.round() as u64,
                bytes,
                placement,
                pooled: true,
                complete: true,
                size_biased_entry: if sum > 0.0 { squares / sum } else { 0.0 },
                picked_sum: sum,
                picked_squares: squares,
                ..Stratum::default()
            }
        };
        // A large message's content compresses on its own; its other
        // fields are like a small message's, and compress as those do.
        let small_bytes = walk.small_content * scale
            + small_count * overhead(&small_rows).unwrap_or(fallback)
            + large_count * overhead(&large_rows).unwrap_or(fallback);
        let large_content = (walk.content - walk.small_content) * scale;
        let mut small = part(
            &small_rows,
            small_count,
            small_bytes,
            Placement::Interleaved,
        );
        let mut large = part(&large_rows, large_count, large_content, Placement::Alone);
        if !small_rows.is_empty() {
            // A window of the table holds WINDOW_BYTES of message fields,
            // about as many bytes of entries.
            let mean_entry = (small_bytes + large_content) / count.max(1.0);
            let rows_per_window = (WINDOW_BYTES as f64 / mean_entry.max(1.0)) as i64;
            self.small_windows(&small_rows, rows_per_window, &mut small)?;
        }
        if !large_rows.is_empty() {
            self.large_slices(&large_rows, every_row, &mut large)?;
        }
        Ok(Messages {
            count: walk.count,
            picked: walk.counted,
            small,
            large,
        })
    }

    /// Counts the selected messages exactly, then counts the content of an
    /// eighth of them (see [`MIN_COUNTED`]) and picks some of those, in runs
    /// of rowids evenly spread over the table; or, when the runs find too
    /// few (a time range may select few of the table's rows), in runs of
    /// the selection's own index.
    pub(super) fn pick_messages(&self) -> Result<Walk> {
        // Two subqueries: SQLite finds a lone min() or max() at one end of
        // the table, but computes both in one query by reading every row.
        let (first, last): (Option<i64>, Option<i64>) = self
            .conn
            .query_row(
                "SELECT (SELECT min(rowid) FROM messages), (SELECT max(rowid) FROM messages)",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .db()?;
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(Walk::default());
        };
        let count = self.options.count_messages(self.conn)?;
        let counted = (count as f64 / 8.0).clamp(MIN_COUNTED, MAX_COUNTED);
        // Every how many counted runs one is picked.
        let pick = |counted: f64| (counted / PICKED).round().clamp(1.0, COUNTED) as i64;
        let span = last as f64 - first as f64 + 1.0;
        let stride = ((span * RUN as f64 / counted) as i64).max(RUN);
        let mut walk = self.runs(first, last, stride, pick(counted))?;
        walk.count = count.max(0) as u64;
        let picked = walk.picked.len() as f64;
        if picked < walk.count as f64 && picked < PICKED / 2.0 {
            let every = (count as f64 / counted).clamp(1.0, 1e15) as i64;
            let counted = count as f64 / every as f64;
            return self.walk(every, every * pick(counted));
        }
        Ok(walk)
    }

    /// Counts the content of the selected messages in runs of [`RUN`]
    /// rowids every `stride` from `first` to `last`, and picks those of
    /// every `pick`-th run. SQLite seeks each run by rowid and reads its
    /// rows in order.
    pub(super) fn runs(&self, first: i64, last: i64, stride: i64, pick: i64) -> Result<Walk> {
        let sql = format!(
            "WITH RECURSIVE runs(start) AS (SELECT :first UNION ALL \
             SELECT start + :stride FROM runs WHERE start <= :last - :stride) \
             SELECT count(*), ifnull(sum(length(m.content) >= :large), 0), \
             ifnull(sum(length(m.content)), 0), ifnull(sum(min(length(m.content), :large)), 0), \
             json_group_array({MESSAGE_LENGTHS_SQL}) \
             FILTER (WHERE ((runs.start - :first) / :stride) % :pick = 0), 0 \
             FROM runs CROSS JOIN messages AS m NOT INDEXED \
             WHERE {} AND m.rowid BETWEEN runs.start AND runs.start + {}",
            self.options.message_condition(),
            RUN - 1
        );
        let mut params = self.options.range_params();
        params.extend([
            (":first", &first as &dyn ToSql),
            (":last", &last),
            (":stride", &stride),
            (":pick", &pick),
            (":large", &LARGE_CONTENT),
        ]);
        Walk::parse(
            self.conn
                .query_row(&sql, params.as_slice(), Walk::read)
                .db()?,
        )
    }

    /// One walk of the selected messages' index: their count, the content of
    /// those in every `counted`-th run of rowids and the lengths of those in
    /// every `picked`-th. SQLite reads the rows of those only.
    pub(super) fn walk(&self, counted: i64, picked: i64) -> Result<Walk> {
        let counted_run = format!("FILTER (WHERE (m.rowid / {RUN}) % :counted = 0)");
        let sql = format!(
            "SELECT count(*) {counted_run}, \
             ifnull(sum(length(m.content) >= :large) {counted_run}, 0), \
             ifnull(sum(length(m.content)) {counted_run}, 0), \
             ifnull(sum(min(length(m.content), :large)) {counted_run}, 0), \
             json_group_array({MESSAGE_LENGTHS_SQL}) FILTER (WHERE (m.rowid / {RUN}) % :picked = 0), \
             count(*) FROM {}",
            self.options.message_selection()
        );
        let mut params = self.options.range_params();
        params.extend([
            (":counted", &counted as &dyn ToSql),
            (":picked", &picked),
            (":large", &LARGE_CONTENT),
        ]);
        Walk::parse(
            self.conn
                .query_row(&sql, params.as_slice(), Walk::read)
                .db()?,
        )
    }

    /// Windows of consecutive small messages in archive order, starting at
    /// evenly spread picked ones; every small message when they are few.
    ///
    /// Archive order groups each window of the table by conversation (see
    /// [`crate::order`]). A sampled window starts at a picked message and
    /// goes on as the archive does: that message's conversation, then the
    /// next ones in id order, each with its messages in the same window of
    /// the table, which is reckoned from the picked message's rowid and
    /// `rows_per_window`. Through the conversation index, SQLite steps over
    /// the entries of other windows without reading their rows.
    pub(super) fn small_windows(
        &mut self,
        picked: &[Picked],
        rows_per_window: i64,
        stratum: &mut Stratum,
    ) -> Result<()> {
        let conn = self.conn;
        let options = self.options;
        let mut tally = Tally::default();
        let Some((windows, window)) = plan(stratum.bytes) else {
            let small = MessageFilter::SmallerThan(LARGE_CONTENT);
            let mut batcher = self.batcher(f64::INFINITY);
            read_messages(conn, options, small, &mut |record| batcher.push(record))?;
            tally.add(batcher.finish());
            tally.close(stratum);
            return Ok(());
        };
        stratum.complete = false;
        let Some((first, _)) = message_span(conn, options)? else {
            return Ok(());
        };
        let mut key = conn
            .prepare(
                "SELECT m.conversation_id, m.sent_at_ns, m.id FROM messages AS m WHERE m.rowid = ?1",
            )
            .db()?;
        let indexed: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM pragma_index_info('messages_by_conversation') \
                 WHERE seqno = 0 AND name = 'conversation_id')",
                [],
                |row| row.get(0),
            )
            .db()?;
        let mut statement = conn
            .prepare(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages AS m{} \
                 WHERE m.rowid BETWEEN :low AND :high AND length(m.content) < :large{} \
                 AND (m.conversation_id, m.sent_at_ns, m.id) >= (:conversation, :sent, :id) \
                 ORDER BY m.conversation_id, m.sent_at_ns, m.id",
                if indexed {
                    " INDEXED BY messages_by_conversation"
                } else {
                    ""
                },
                options.range_condition()
            ))
            .db()?;
        let rows_per_window = rows_per_window.max(1);
        for index in 0..windows {
            let start = picked[(picked.len() * (2 * index + 1)) / (2 * windows)];
            let (conversation, sent, id): (Vec<u8>, i64, Vec<u8>) = key
                .query_row([start.rowid], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .db()?;
            let low = first + (start.rowid - first) / rows_per_window * rows_per_window;
            let high = low + (rows_per_window - 1);
            let mut params = options.range_params();
            params.extend([
                (":low", &low as &dyn ToSql),
                (":high", &high),
                (":large", &LARGE_CONTENT),
                (":conversation", &conversation),
                (":sent", &sent),
                (":id", &id),
            ]);
            let mut rows = statement.query(params.as_slice()).db()?;
            let mut batcher = self.batcher(window);
            while !batcher.full() {
                let Some(row) = rows.next().db()? else { break };
                batcher.push(&Record::Message(message_from_row(row).db()?))?;
            }
            tally.add(batcher.finish());
        }
        tally.close(stratum);
        Ok(())
    }

    /// The contents of large messages, each compressed on its own: its
    /// middle [`SLICE`] bytes, extrapolated to its whole length. Every picked
    /// one up to [`MAX_SLICES`], else that many picked among them in
    /// proportion to their content's size.
    pub(super) fn large_slices(
        &mut self,
        picked: &[Picked],
        every_row: bool,
        stratum: &mut Stratum,
    ) -> Result<()> {
        stratum.pooled = picked.len() <= MAX_SLICES;
        stratum.complete = stratum.pooled && every_row;
        let picks: Vec<Picked> = if stratum.pooled {
            picked.to_vec()
        } else {
            let total: f64 = picked.iter().map(|p| p.content as f64).sum();
            let mut picks = Vec::with_capacity(MAX_SLICES);
            let (mut cumulative, mut next) = (0.0, 0);
            for index in 0..MAX_SLICES {
                let at = total * (index as f64 + 0.5) / MAX_SLICES as f64;
                while next + 1 < picked.len() && cumulative + picked[next].content as f64 <= at {
                    cumulative += picked[next].content as f64;
                    next += 1;
                }
                picks.push(picked[next]);
            }
            picks
        };
        // The middle of the content; SQLite reads it all, but copies out
        // only this.
        let mut middle = self
            .conn
            .prepare("SELECT substr(m.content, ?2, ?3) FROM messages AS m WHERE m.rowid = ?1")
            .db()?;
        let mut seen: HashMap<i64, Slice> = HashMap::new();
        let mut shift = Mean::default();
        for pick in picks {
            let slice = match seen.get(&pick.rowid) {
                Some(&slice) => slice,
                None => {
                    let len = SLICE.min(pick.content as usize) as i64;
                    let start = (pick.content as i64 - len) / 2 + 1;
                    let piece: Vec<u8> = middle
                        .query_row([pick.rowid, start, len], |row| row.get(0))
                        .db()?;
                    let slice = Slice::measure(&mut self.compressor, &piece, pick.content as f64);
                    stratum.compressed += slice.piece;
                    seen.insert(pick.rowid, slice);
                    slice
                }
            };
            // Picked evenly, each counts by its size; picked by size, once.
            let weight = if stratum.pooled { slice.content } else { 1.0 };
            shift.add(slice.shift, weight);
            stratum.samples.push(if stratum.pooled {
                (slice.content, slice.content * slice.ratio)
            } else {
                (slice.piece, slice.piece * slice.ratio)
            });
        }
        stratum.extrapolated = shift.value().unwrap_or(0.0);
        Ok(())
    }
}
