//! Killing the process mid-way loses nothing: an import killed with SIGKILL
//! at several points leaves the database exactly as before, and a create
//! killed mid-way leaves no file under the archive's name.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Runs `command` and kills it with SIGKILL after `delay`; says whether the
/// kill ended it (rather than it exiting first).
fn kill_after(command: &mut Command, delay: Duration) -> bool {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    child.kill().unwrap_or(());
    // No exit code: a signal ended it.
    child.wait().unwrap().code().is_none()
}

fn timed(command: &mut Command) -> Duration {
    let start = Instant::now();
    run(command);
    start.elapsed()
}

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
    // How long a whole import takes here, on a scratch copy.
    let scratch = setup.dir.join("scratch.db");
    std::fs::copy(&target, &scratch).unwrap();
    let full = timed(&mut import(&scratch));
    assert_ne!(
        database_digest(&scratch),
        before,
        "the import changed nothing"
    );

    let after = database_digest(&scratch);

    // Each kill starts from the same database. Killed before its commit, the
    // import must leave it exactly as it was; killed after, it is complete.
    let pristine = setup.dir.join("pristine.db");
    std::fs::copy(&target, &pristine).unwrap();
    let mut killed_before_commit = 0;
    for percent in [5, 20, 40, 60, 80, 95] {
        let delay = full * percent / 100;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
        }
        std::fs::copy(&pristine, &target).unwrap();
        let running = kill_after(&mut import(&target), delay);
        let now = database_digest(&target);
        integrity_ok(&target);
        if now == before {
            killed_before_commit += usize::from(running);
        } else {
            assert_eq!(
                now, after,
                "killed at {percent}% ({delay:?}), the database holds part of the import"
            );
        }
    }
    assert!(
        killed_before_commit >= 3,
        "only {killed_before_commit} kills landed before the import committed"
    );
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
    let full = timed(&mut create());
    std::fs::remove_file(&out).unwrap();
    let mut killed_while_running = 0;
    for percent in [10, 30, 50, 70, 90] {
        let killed = kill_after(&mut create(), full * percent / 100);
        if out.exists() {
            // Only a create that got as far as putting it in place leaves
            // an archive there, and then a whole one.
            run(keepsake()
                .arg("verify")
                .arg(&out)
                .arg("--key-file")
                .arg(&setup.key));
            std::fs::remove_file(&out).unwrap();
        } else if killed {
            killed_while_running += 1;
        }
    }
    assert!(
        killed_while_running >= 3,
        "only {killed_while_running} kills landed"
    );
}
