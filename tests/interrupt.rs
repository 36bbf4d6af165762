//! Killing the process mid-way loses nothing: an import killed with SIGKILL
//! at several points leaves the database exactly as before, and a create
//! killed mid-way leaves no file under the archive's name; killed once it
//! has said it finished, each left its result complete.
//!
//! The kills land at points the process reports (its progress events, as
//! JSON lines on stderr), not at fractions of a timed run, so that a loaded
//! machine moves them no more than it slows the process.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::database_digest;

fn keepsake() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keepsake"))
}

fn run(command: &mut Command) {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn integrity_ok(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(result, "ok");
}

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    key: PathBuf,
    source: PathBuf,
    archive: PathBuf,
}

fn setup(messages: u32) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let key = path.join("key");
    let source = path.join("source.db");
    let archive = path.join("backup.keepsake");
    run(keepsake().arg("keygen").arg("--out").arg(&key));
    run(keepsake()
        .args([
            "sample",
            "--messages",
            &messages.to_string(),
            "--conversations",
            "50",
            "--db",
        ])
        .arg(&source));
    run(keepsake()
        .arg("create")
        .arg("--db")
        .arg(&source)
        .arg("--out")
        .arg(&archive)
        .arg("--key-file")
        .arg(&key));
    Setup {
        _dir: dir,
        dir: path,
        key,
        source,
        archive,
    }
}

/// Where to kill a command: once it reports this fraction of its records
/// done, or once it reports that it finished.
#[derive(Clone, Copy, Debug)]
enum KillAt {
    Fraction(f64),
    Finished,
}

/// Runs `command` with its progress as JSON lines and kills it with SIGKILL
/// at `at`; says whether the kill ended it (rather than it exiting first).
fn kill_at(command: &mut Command, at: KillAt) -> bool {
    let mut child = command
        .env("KEEPSAKE_PROGRESS", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line.unwrap()) else {
            continue;
        };
        let done = event["records_done"].as_f64().unwrap_or(0.0);
        let total = event["records_total"].as_f64();
        let due = match at {
            KillAt::Fraction(fraction) => total.is_some_and(|total| done >= fraction * total),
            KillAt::Finished => event["finished"] == true,
        };
        if due {
            child.kill().unwrap_or(());
            break;
        }
    }
    // No exit code: a signal ended it.
    child.wait().unwrap().code().is_none()
}

const FRACTIONS: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

#[test]
fn an_import_killed_at_any_point_leaves_the_database_as_it_was() {
    let setup = setup(40_000);
    // A target that already holds part of the data, so "as it was" is not "empty".
    let target = setup.dir.join("target.db");
    run(keepsake()
        .args([
            "sample",
            "--messages",
            "300",
            "--conversations",
            "5",
            "--seed",
            "9",
            "--db",
        ])
        .arg(&target));
    let before = database_digest(&target);

    let import = |db: &Path| {
        let mut command = keepsake();
        command
            .arg("import")
            .arg(&setup.archive)
            .arg("--db")
            .arg(db)
            .arg("--key-file")
            .arg(&setup.key);
        command
    };
    // What a whole import makes of it, on a scratch copy.
    let scratch = setup.dir.join("scratch.db");
    std::fs::copy(&target, &scratch).unwrap();
    run(&mut import(&scratch));
    let after = database_digest(&scratch);
    assert_ne!(after, before, "the import changed nothing");

    // Each kill starts from the same database. Killed before its commit, the
    // import must leave it exactly as it was; killed after, it is complete.
    let pristine = setup.dir.join("pristine.db");
    std::fs::copy(&target, &pristine).unwrap();
    let mut killed_before_commit = 0;
    let points = FRACTIONS.map(KillAt::Fraction);
    for at in points.into_iter().chain([KillAt::Finished]) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
        }
        std::fs::copy(&pristine, &target).unwrap();
        let running = kill_at(&mut import(&target), at);
        let now = database_digest(&target);
        integrity_ok(&target);
        match at {
            KillAt::Finished => assert_eq!(
                now, after,
                "killed once finished, the import is not all there"
            ),
            KillAt::Fraction(_) if now == before => killed_before_commit += usize::from(running),
            KillAt::Fraction(_) => assert_eq!(
                now, after,
                "killed at {at:?}, the database holds part of the import"
            ),
        }
    }
    // A loaded machine may hold the test back past a late point; the early
    // ones leave most of the import to do.
    assert!(
        killed_before_commit >= 3,
        "only {killed_before_commit} kills landed before the import committed"
    );

    // Into a new database: nothing is under its name until it is complete.
    let fresh = setup.dir.join("fresh.db");
    for at in [0.25, 0.75].map(KillAt::Fraction) {
        kill_at(&mut import(&fresh), at);
        if fresh.exists() {
            integrity_ok(&fresh);
            std::fs::remove_file(&fresh).unwrap();
        }
    }
    kill_at(&mut import(&fresh), KillAt::Finished);
    integrity_ok(&fresh);
    let rows = rusqlite::Connection::open(&fresh)
        .unwrap()
        .query_row("SELECT count(*) FROM messages", [], |row| {
            row.get::<_, i64>(0)
        })
        .unwrap();
    assert_eq!(rows, 40_000);
}

#[test]
fn a_create_killed_mid_way_leaves_no_archive() {
    let setup = setup(40_000);
    let out = setup.dir.join("second.keepsake");
    let create = || {
        let mut command = keepsake();
        command
            .arg("create")
            .arg("--db")
            .arg(&setup.source)
            .arg("--out")
            .arg(&out)
            .arg("--key-file")
            .arg(&setup.key);
        command
    };
    let verify = |archive: &Path| {
        run(keepsake()
            .arg("verify")
            .arg(archive)
            .arg("--key-file")
            .arg(&setup.key));
    };
    let mut killed_while_running = 0;
    for at in FRACTIONS.map(KillAt::Fraction) {
        let killed = kill_at(&mut create(), at);
        if out.exists() {
            // Only a create that got as far as putting it in place leaves
            // an archive there, and then a whole one.
            verify(&out);
            std::fs::remove_file(&out).unwrap();
        } else if killed {
            killed_while_running += 1;
        }
    }
    assert!(
        killed_while_running >= 3,
        "only {killed_while_running} kills landed"
    );
    // Killed once it said it finished, the archive is there and whole.
    kill_at(&mut create(), KillAt::Finished);
    verify(&out);
}
