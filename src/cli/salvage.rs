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
pub fn salvage(archive: &Archive, out: &Archive, key_file: &Path) -> Result<Report, Failure> {
    let key = read_key(key_file)?;
    let mut source = archive.ranged()?;
    let mut sink = out.sink(false, "output archive", "choose another --out")?;
    let identities = [keepsake::Identity::RawKey(key.clone())];
    let report: SalvageReport = write_then_commit(&mut sink, |sink| {
        Ok(keepsake::salvage(&mut source, &identities, &key, sink)?.1)
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
        human.push_str("the metadata chunk was lost: the new archive has fresh metadata\n");
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
