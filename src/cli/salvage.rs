//! `keepsake salvage`: a new archive from what still authenticates in a
//! damaged one.

use std::borrow::Cow;
use std::path::Path;

use keepsake::storage::write_then_commit;

use serde::Serialize;

use keepsake::salvage::{LostChunk, SalvageReport};

use super::exit::{Direction, Failure, SALVAGED_WITH_LOSS};
use super::location::Archive;
use super::units::TimeRange;
use super::{Counts, Report, library_failure, read_key};

#[derive(Serialize)]
struct SalvageJson<'a> {
    ok: bool,
    command: &'static str,
    archive: Cow<'a, str>,
    out: Cow<'a, str>,
    complete: bool,
    chunks_recovered: u64,
    chunks_expected: Option<u64>,
    truncated_at: Option<u64>,
    trailing_bytes: u64,
    metadata_lost: bool,
    written: Counts,
    messages_without_conversation: u64,
    lost: Vec<LostJson>,
}

#[derive(Serialize)]
struct LostJson {
    chunk: u64,
    offset: Option<u64>,
    kind: Option<&'static str>,
    counts: Option<Counts>,
    conversations: Option<Vec<String>>,
    time_range: Option<TimeRange>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl LostJson {
    fn new(lost: &LostChunk) -> Self {
        let held = lost.held.as_ref();
        LostJson {
            chunk: lost.chunk,
            offset: lost.offset,
            kind: held.map(|held| held.kind.name()),
            counts: held.map(|held| Counts {
                conversations: held.conversations,
                messages: held.messages,
                consent: held.consent,
            }),
            conversations: held
                .map(|held| held.conversation_ids.iter().map(|id| hex(id)).collect()),
            time_range: held.and_then(|held| TimeRange::new(held.sent_range)),
        }
    }
}

/// Describes one lost chunk on one line.
fn lost_line(lost: &LostChunk) -> String {
    let mut line = format!("  chunk {}", lost.chunk);
    if let Some(offset) = lost.offset {
        line.push_str(&format!(" at byte {offset}"));
    }
    match &lost.held {
        Some(held) => line.push_str(&format!(
            ": {} with {} conversations, {} messages, {} consent records ({} conversation ids), messages {}",
            held.kind.name(),
            held.conversations,
            held.messages,
            held.consent,
            held.conversation_ids.len(),
            TimeRange::human(held.sent_range),
        )),
        None => line.push_str(": content unknown (the seek index was not recovered)"),
    }
    line.push('\n');
    line
}

/// `keepsake salvage`.
pub fn salvage(
    archive: &Archive,
    out: &Archive,
    key_file: &Path,
    limits: keepsake::Limits,
) -> Result<Report, Failure> {
    let key = read_key(key_file)?;
    let mut source = archive.ranged()?;
    let mut sink = out.sink(false, "output archive", "choose another --out")?;
    let identities = [keepsake::Identity::RawKey(key.clone())];
    let report: SalvageReport = write_then_commit(&mut sink, |sink| {
        Ok(keepsake::salvage(&mut source, &identities, limits, &key, sink)?.1)
    })
    .map_err(|error| {
        library_failure(
            error,
            Direction::Reading,
            format!("cannot salvage {archive}"),
        )
        .hint(format!("nothing was written to {out}"))
    })?;
    let written = Counts {
        conversations: report.written.conversations,
        messages: report.written.messages,
        consent: report.written.consent,
    };
    let complete = report.is_complete();
    let mut human = format!(
        "salvaged {} into {}: {}\n{} chunks recovered{}\n",
        archive,
        out,
        written.human(),
        report.chunks_recovered,
        report
            .chunks_expected
            .map_or(String::new(), |total| format!(" of {total}")),
    );
    if let Some(offset) = report.truncated_at {
        human.push_str(&format!(
            "the archive is truncated: it ends at byte {offset}, before its final chunk\n"
        ));
    }
    if report.metadata_lost {
        human.push_str("the metadata chunk was lost: the new archive's salvage record cannot name the original's creator or creation time\n");
    }
    if !report.lost.is_empty() {
        human.push_str("lost:\n");
        for lost in &report.lost {
            human.push_str(&lost_line(lost));
        }
    }
    if report.messages_without_conversation > 0 {
        human.push_str(&format!(
            "{} messages dropped: their conversation's record was in a lost chunk\n",
            report.messages_without_conversation
        ));
    }
    if report.trailing_bytes > 0 {
        human.push_str(&format!(
            "{} bytes after the final chunk were left out\n",
            report.trailing_bytes
        ));
    }
    if complete {
        human.push_str("nothing was lost\n");
    }
    let mut report_out = Report::new(
        human,
        &SalvageJson {
            ok: true,
            command: "salvage",
            archive: archive.name(),
            out: out.name(),
            complete,
            chunks_recovered: report.chunks_recovered,
            chunks_expected: report.chunks_expected,
            truncated_at: report.truncated_at,
            trailing_bytes: report.trailing_bytes,
            metadata_lost: report.metadata_lost,
            written,
            messages_without_conversation: report.messages_without_conversation,
            lost: report.lost.iter().map(LostJson::new).collect(),
        },
    )?;
    if !complete {
        report_out.flag = Some((
            SALVAGED_WITH_LOSS,
            format!(
                "{out} was written, but some of the damaged archive's content could not be recovered"
            ),
        ));
    }
    Ok(report_out)
}

/// What an archive's salvage record says (spec §6.7), for inspect and verify.
#[derive(Serialize)]
pub(crate) struct SalvagedFromJson {
    /// Whether the record decoded; nothing else is known when it did not.
    readable: bool,
    original_creator: Option<String>,
    original_created_at_ns: Option<i64>,
    original_created_at: Option<String>,
    chunks_expected: Option<u64>,
    chunks_recovered: Option<u64>,
    lost_chunks: Vec<u64>,
    truncated_at: Option<u64>,
    trailing_bytes: Option<u64>,
    messages_dropped: Option<u64>,
    complete: Option<bool>,
}

/// The "salvaged" line and JSON of an archive that is a salvage's output,
/// or nothing for one that is not.
pub(crate) fn salvaged_from(
    record: Option<Option<&keepsake::body::salvage_record::SalvageRecord>>,
) -> (String, Option<SalvagedFromJson>) {
    let Some(record) = record else {
        return (String::new(), None);
    };
    let Some(record) = record else {
        return (
            "salvaged  yes, but its salvage record does not decode\n".to_owned(),
            Some(SalvagedFromJson {
                readable: false,
                original_creator: None,
                original_created_at_ns: None,
                original_created_at: None,
                chunks_expected: None,
                chunks_recovered: None,
                lost_chunks: Vec::new(),
                truncated_at: None,
                trailing_bytes: None,
                messages_dropped: None,
                complete: None,
            }),
        );
    };
    let original = record.original.as_ref();
    let mut human = match original {
        Some(original) => format!(
            "salvaged  from a damaged archive created {} by {}\n",
            super::units::time_human(original.created_at_ns),
            original.creator
        ),
        None => "salvaged  from a damaged archive whose metadata was lost\n".to_owned(),
    };
    let expected = record
        .chunks_expected
        .map_or("an unknown number of".to_owned(), |count| count.to_string());
    human.push_str(&format!(
        "          {} of {expected} chunks recovered",
        record.chunks_recovered
    ));
    if !record.lost_chunks.is_empty() {
        let lost: Vec<String> = record.lost_chunks.iter().map(u64::to_string).collect();
        human.push_str(&format!("; lost chunks {}", lost.join(", ")));
    }
    if let Some(at) = record.truncated_at {
        human.push_str(&format!("; cut off at byte {at}"));
    }
    if record.messages_dropped > 0 {
        human.push_str(&format!(
            "; {} messages dropped with their conversation",
            record.messages_dropped
        ));
    }
    human.push('\n');
    (
        human,
        Some(SalvagedFromJson {
            readable: true,
            original_creator: original.map(|original| original.creator.clone()),
            original_created_at_ns: original.map(|original| original.created_at_ns),
            original_created_at: original
                .and_then(|original| super::units::rfc3339(original.created_at_ns)),
            chunks_expected: record.chunks_expected,
            chunks_recovered: Some(record.chunks_recovered),
            lost_chunks: record.lost_chunks.clone(),
            truncated_at: record.truncated_at,
            trailing_bytes: Some(record.trailing_bytes),
            messages_dropped: Some(record.messages_dropped),
            complete: Some(record.is_complete()),
        }),
    )
}
