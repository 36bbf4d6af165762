//! Times and sizes as a user types and reads them.

use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use keepsake::limits::{MIN_CHUNK_SIZE, WRITER_MAX_CHUNK_SIZE};

/// Parses a conversation id written in hex (upper or lower case).
pub fn parse_hex_id(text: &str) -> Result<Vec<u8>, String> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return Err("a conversation id is an even number of hex digits".to_owned());
    }
    (0..text.len())
        .step_by(2)
        .map(|at| {
            text.get(at..at + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("{text:?} is not a hex conversation id"))
        })
        .collect()
}

/// Parses a time given on the command line: RFC 3339 with an offset, or an
/// integer number of nanoseconds since the Unix epoch.
pub fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(ns) = text.parse::<i64>() {
        return Ok(ns);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{text} nanoseconds is out of range (the largest is {})",
            i64::MAX
        ));
    }
    let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        format!(
            "`{text}` is neither an RFC 3339 time such as 2026-01-01T00:00:00Z \
             nor an integer number of nanoseconds since the Unix epoch"
        )
    })?;
    i64::try_from(at.unix_timestamp_nanos()).map_err(|_| {
        format!("{text} is outside the range of nanosecond timestamps (years 1678 to 2261)")
    })
}

/// Parses a chunk size for a writer: plain bytes, or a number with a `KiB`
/// or `MiB` suffix (`K`, `KB`, `M` and `MB` are read as the same binary units).
pub fn parse_chunk_size(text: &str) -> Result<u32, String> {
    parse_size(text, WRITER_MAX_CHUNK_SIZE)
}

/// Parses the largest chunk size a reader accepts, in the same forms as
/// [`parse_chunk_size`] or with a `GiB` suffix, up to the format's largest.
pub fn parse_reader_chunk_size(text: &str) -> Result<u32, String> {
    parse_size(text, u32::MAX)
}

/// Parses a size from 4 KiB to `largest` bytes.
fn parse_size(text: &str, largest: u32) -> Result<u32, String> {
    let not_a_size =
        || format!("`{text}` is not a size: write bytes, or a number followed by KiB, MiB or GiB");
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, suffix) = trimmed.split_at(split);
    let unit: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(not_a_size()),
    };
    let bytes = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(not_a_size)?;
    let range = u64::from(MIN_CHUNK_SIZE)..=u64::from(largest);
    if !range.contains(&bytes) {
        return Err(format!(
            "the chunk size must be between {} and {}, not {}",
            bytes_human(u64::from(MIN_CHUNK_SIZE)),
            bytes_human(u64::from(largest)),
            bytes_human(bytes)
        ));
    }
    u32::try_from(bytes).map_err(|_| format!("`{text}` is too large"))
}

/// A timestamp in RFC 3339 (UTC, with as many fractional digits as needed),
/// or `None` for a time RFC 3339 cannot write.
pub fn rfc3339(ns: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// A timestamp for people: RFC 3339 to the second, or the raw nanoseconds
/// when it cannot be written as a date.
pub fn time_human(ns: i64) -> String {
    let seconds = ns.div_euclid(1_000_000_000);
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{ns} ns"))
}

/// A size in bytes for people, in binary units: `512 B`, `3.4 KiB`, `1.2 MiB`.
pub fn bytes_human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A duration for people: `850 µs`, `42 ms`, `1.25 s`.
pub fn duration_human(elapsed: Duration) -> String {
    let micros = elapsed.as_micros();
    if micros < 1000 {
        format!("{micros} µs")
    } else if micros < 10_000 {
        format!("{:.1} ms", elapsed.as_secs_f64() * 1000.0)
    } else if micros < 1_000_000 {
        format!("{} ms", micros / 1000)
    } else {
        format!("{:.2} s", elapsed.as_secs_f64())
    }
}

/// Whole milliseconds, for JSON.
pub fn millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// The earliest and latest message times of an archive, in JSON: each as
/// nanoseconds and as RFC 3339.
#[derive(Debug, Serialize)]
pub struct TimeRange {
    /// The earliest message's send time, in nanoseconds since the Unix epoch.
    pub earliest_ns: i64,
    /// The same time in RFC 3339.
    pub earliest: Option<String>,
    /// The latest message's send time, in nanoseconds since the Unix epoch.
    pub latest_ns: i64,
    /// The same time in RFC 3339.
    pub latest: Option<String>,
}

impl TimeRange {
    /// The JSON form of a library time range.
    pub fn new(range: Option<(i64, i64)>) -> Option<TimeRange> {
        range.map(|(earliest_ns, latest_ns)| TimeRange {
            earliest_ns,
            earliest: rfc3339(earliest_ns),
            latest_ns,
            latest: rfc3339(latest_ns),
        })
    }

    /// The human form of a library time range.
    pub fn human(range: Option<(i64, i64)>) -> String {
        match range {
            Some((earliest, latest)) => {
                format!("{} to {}", time_human(earliest), time_human(latest))
            }
            None => "no messages".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_from_rfc3339_and_nanoseconds() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Ok(1_000_000_000));
        assert_eq!(parse_time("1970-01-01T01:00:00+01:00"), Ok(0));
        assert_eq!(parse_time("42"), Ok(42));
        assert_eq!(parse_time("-42"), Ok(-42));
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("").is_err());
        assert!(parse_time("99999999999999999999").is_err());
        assert!(parse_time("2300-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn times_format_as_rfc3339() {
        assert_eq!(rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            rfc3339(1_500_000_000).as_deref(),
            Some("1970-01-01T00:00:01.5Z")
        );
        assert_eq!(time_human(1_500_000_000), "1970-01-01T00:00:01Z");
        assert_eq!(time_human(-1), "1969-12-31T23:59:59Z");
        for ns in [i64::MIN, i64::MAX] {
            assert_eq!(parse_time(&rfc3339(ns).unwrap()), Ok(ns));
        }
    }

    #[test]
    fn chunk_sizes_parse_with_units_and_limits() {
        assert_eq!(parse_chunk_size("65536"), Ok(65536));
        assert_eq!(parse_chunk_size("64KiB"), Ok(65536));
        assert_eq!(parse_chunk_size("1 MiB"), Ok(1 << 20));
        assert_eq!(parse_chunk_size("64m"), Ok(64 << 20));
        assert!(parse_chunk_size("1KiB").is_err());
        assert!(parse_chunk_size("65MiB").is_err());
        assert!(parse_chunk_size("lots").is_err());
        assert!(parse_chunk_size("99999999999999999999MiB").is_err());
        // A reader may accept more than a writer writes, up to the format's u32.
        assert_eq!(parse_reader_chunk_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_reader_chunk_size("1GiB"), Ok(1 << 30));
        assert!(parse_reader_chunk_size("4GiB").is_err());
        assert!(parse_reader_chunk_size("1KiB").is_err());
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(bytes_human(512), "512 B");
        assert_eq!(bytes_human(1536), "1.5 KiB");
        assert_eq!(bytes_human(3 << 20), "3.0 MiB");
    }
}
