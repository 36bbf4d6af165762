//! `keepsake bench` end to end on a small sample: it runs, reports every
//! Keepsake operation with real figures, and leaves an archive that verifies.
//! The external tools may or may not be installed; with `PATH` emptied they
//! are certainly absent, and their rows must say so.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

/// Rows of Keepsake's operations that handle every record of the sample.
const KEEPSAKE_ROWS: [&str; 6] = [
    "keepsake_create",
    "keepsake_create_threads_1",
    "keepsake_estimate",
    "keepsake_verify",
    "keepsake_import",
    "keepsake_import_half",
];
const TOOL_ROWS: [&str; 5] = [
    "backup_pipeline",
    "zstd",
    "zstd_d",
    "age_d_zstd_d",
    "backup_pipeline.zstd_age",
];

/// Runs `keepsake bench --messages 2000 --json --keep --dir DIR`, with `path`
/// as `PATH` if given, and returns its JSON.
fn bench(dir: &Path, path: Option<&Path>) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keepsake"));
    command.args(["bench", "--messages", "2000", "--json", "--keep", "--dir"]);
    command.arg(dir);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let output = command.output().expect("the keepsake binary runs");
    let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
    assert!(
        output.status.success(),
        "bench failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.trim_end().lines().count(),
        1,
        "one JSON line: {stdout}"
    );
    serde_json::from_str(&stdout).expect("stdout is one JSON object")
}

fn row<'a>(json: &'a Value, id: &str) -> &'a Value {
    json["rows"]
        .as_array()
        .expect("rows is an array")
        .iter()
        .find(|row| row["id"] == id)
        .unwrap_or_else(|| panic!("no row {id} in {json}"))
}

fn positive(row: &Value, field: &str) -> f64 {
    let value = row[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not a number in {row}"));
    assert!(value > 0.0, "{field} is not positive in {row}");
    value
}

/// Every Keepsake row has real figures, and the kept archive verifies.
fn check_keepsake_rows(json: &Value) {
    assert_eq!(json["ok"], true);
    assert_eq!(json["command"], "bench");
    assert_eq!(json["sample"]["messages"], 2000);
    assert!(json["machine"]["cpus"].as_u64().is_some_and(|n| n >= 1));
    let records = json["sample"]["messages"].as_u64().unwrap()
        + json["sample"]["conversations"].as_u64().unwrap()
        + json["sample"]["consent"].as_u64().unwrap();
    for id in KEEPSAKE_ROWS.into_iter().chain(["insert_select"]) {
        let row = row(json, id);
        assert_eq!(row["status"], "ok", "{row}");
        positive(row, "seconds");
        positive(row, "input_bytes");
        positive(row, "output_bytes");
        positive(row, "throughput");
        assert_eq!(row["records"], records, "{row}");
        if cfg!(target_os = "linux") {
            positive(row, "peak_rss_bytes");
            assert_eq!(row["peak_rss_method"], "exact", "{row}");
        }
    }
    assert_eq!(
        row(json, "keepsake_import")["throughput_unit"],
        "messages/s"
    );
    // The pages archive's rows, and restore against verify of it.
    for id in [
        "keepsake_create_pages",
        "keepsake_verify_pages",
        "keepsake_restore",
    ] {
        let row = row(json, id);
        assert_eq!(row["status"], "ok", "{row}");
        positive(row, "seconds");
        positive(row, "output_bytes");
        positive(row, "records");
    }
    assert_eq!(
        row(json, "keepsake_restore")["records"],
        row(json, "keepsake_create_pages")["records"]
    );
    positive(&json["ratios"], "restore_time_vs_verify");
    positive(&json["ratios"], "create_speedup_of_threads");
    positive(&json["ratios"], "import_into_half_time_vs_insert_select");
    // A partial import of the median conversation reads part of the archive.
    let conversation = row(json, "keepsake_import_conversation");
    assert_eq!(conversation["status"], "ok", "{conversation}");
    let decrypted = json["ratios"]["partial_import_chunks_decrypted"]
        .as_u64()
        .unwrap();
    let total = json["ratios"]["partial_import_chunks_total"]
        .as_u64()
        .unwrap();
    assert!(
        decrypted >= 3 && decrypted <= total,
        "{decrypted} of {total}"
    );
    assert!(
        conversation["detail"]
            .as_str()
            .unwrap()
            .contains("chunks decrypted")
    );
    assert_eq!(json["sample"]["order"], "sync");
    let archive = row(json, "keepsake_create")["output_bytes"].as_u64();
    assert_eq!(
        row(json, "keepsake_verify")["input_bytes"].as_u64(),
        archive
    );
    assert!(
        json["ratios"]["import_time_vs_insert_select"]
            .as_f64()
            .is_some_and(|ratio| ratio > 0.0)
    );
    // The estimate row is the estimate of the archive create wrote.
    let estimated = row(json, "keepsake_estimate")["output_bytes"]
        .as_f64()
        .unwrap();
    let size = json["ratios"]["estimate_size_vs_archive"].as_f64().unwrap();
    assert!(
        (size - estimated / archive.unwrap() as f64).abs() < 1e-9 && (0.85..=1.15).contains(&size),
        "estimate over archive: {size}"
    );
    positive(&json["ratios"], "estimate_time_vs_create");

    let dir = Path::new(json["dir"].as_str().expect("the kept directory"));
    let verified = Command::new(env!("CARGO_BIN_EXE_keepsake"))
        .arg("verify")
        .arg(dir.join("messages.keepsake"))
        .arg("--key-file")
        .arg(dir.join("bench.key"))
        .arg("--json")
        .output()
        .expect("the keepsake binary runs");
    assert!(verified.status.success(), "{verified:?}");
    let verified: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(verified["archive_bytes"].as_u64(), archive);
    assert_eq!(verified["counts"]["messages"], 2000);
}

#[test]
fn bench_reports_every_keepsake_operation() {
    let dir = TempDir::new().unwrap();
    let json = bench(dir.path(), None);
    check_keepsake_rows(&json);
    // The tools are optional: each of their rows has figures or says why not.
    for id in TOOL_ROWS {
        let row = row(&json, id);
        match row["status"].as_str() {
            Some("ok") => {
                positive(row, "seconds");
                positive(row, "output_bytes");
            }
            Some("not_installed") => {
                assert!(row["note"].as_str().unwrap().contains("apt-get install"));
            }
            _ => panic!("a tool's row failed: {row}"),
        }
    }
    let create = row(&json, "keepsake_create");
    if row(&json, "backup_pipeline")["status"] == "ok" {
        positive(create, "speed_ratio");
        positive(create, "size_ratio");
    }
}

#[test]
fn bench_without_the_tools_says_they_are_missing() {
    let dir = TempDir::new().unwrap();
    let empty = TempDir::new().unwrap();
    let json = bench(dir.path(), Some(empty.path()));
    check_keepsake_rows(&json);
    for id in TOOL_ROWS {
        let row = row(&json, id);
        assert_eq!(row["status"], "not_installed", "{row}");
        let note = row["note"].as_str().unwrap();
        assert!(
            note.contains("not installed") && note.contains("apt-get install sqlite3 zstd age"),
            "{row}"
        );
        assert!(row["seconds"].is_null(), "{row}");
    }
    assert!(json["tools"]["zstd"].is_null());
    let create = row(&json, "keepsake_create");
    assert!(create["speed_ratio"].is_null() && create["size_ratio"].is_null());
}
