//! `keepsake import` and `keepsake restore` as a user runs them: owner-only
//! files whatever the umask, what an import left out and what a restore
//! removed in the output, and `--trusted-signer` refusing with exit 7.
#![cfg(unix)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::Run;

struct Dir(tempfile::TempDir);

impl Dir {
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Runs the binary under `umask 000`, with `{NAME}` replaced by the path
    /// of NAME in the directory.
    fn run(&self, args: &[&str]) -> Run {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg("umask 000; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_keepsake"));
        for arg in args {
            command.arg(
                match arg.strip_prefix('{').and_then(|a| a.strip_suffix('}')) {
                    Some(name) => self.path(name).into_os_string(),
                    None => OsString::from(arg),
                },
            );
        }
        Run::of(&mut command)
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A key, a signing key and a second one, a sample database with a trigger
/// and a view, and a signed records archive and pages archive of it.
fn setup() -> (Dir, String, String) {
    let dir = Dir(tempfile::tempdir().unwrap());
    dir.run(&["keygen", "--out", "{k.key}"]).expect(0);
    let signer = dir
        .run(&["keygen", "--ed25519", "--out", "{s.key}", "--json"])
        .expect(0)
        .json()["signer"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = dir
        .run(&["keygen", "--ed25519", "--out", "{o.key}", "--json"])
        .expect(0)
        .json()["signer"]
        .as_str()
        .unwrap()
        .to_owned();
    dir.run(&["sample", "--db", "{source.db}", "--messages", "300"])
        .expect(0);
    rusqlite::Connection::open(dir.path("source.db"))
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER allow AFTER UPDATE ON consent BEGIN
                 UPDATE consent SET state = 'allowed' WHERE entity = NEW.entity; END;
             CREATE VIEW recent AS SELECT id FROM messages ORDER BY sent_at_ns DESC LIMIT 10;",
        )
        .unwrap();
    for (mode, out) in [("rows", "{rows.keepsake}"), ("pages", "{pages.keepsake}")] {
        dir.run(&[
            "create",
            "--mode",
            mode,
            "--db",
            "{source.db}",
            "--out",
            out,
            "--key-file",
            "{k.key}",
            "--sign-with",
            "{s.key}",
        ])
        .expect(0);
    }
    (dir, signer, other)
}

/// Runs `command` with the key and a `--trusted-signer` that did not sign:
/// exit 7, and an error of kind `untrusted_signature`.
fn refused_untrusted(dir: &Dir, command: &[&str], signer: &str) {
    let mut args = command.to_vec();
    args.extend([
        "--key-file",
        "{k.key}",
        "--trusted-signer",
        signer,
        "--json",
    ]);
    let refused = dir.run(&args).expect(7).json();
    assert_eq!(refused["error"]["kind"], "untrusted_signature");
}

#[test]
fn new_databases_and_their_side_files_are_owner_only_whatever_the_umask() {
    let (dir, _, _) = setup();
    dir.run(&[
        "import",
        "{rows.keepsake}",
        "--db",
        "{imported.db}",
        "--key-file",
        "{k.key}",
    ])
    .expect(0);
    dir.run(&[
        "restore",
        "{pages.keepsake}",
        "--out",
        "{restored.db}",
        "--key-file",
        "{k.key}",
    ])
    .expect(0);
    for db in ["imported.db", "restored.db"] {
        let path = dir.path(db);
        assert_eq!(mode(&path), 0o600, "{db}");
        // Another connection writing makes the write-ahead log and its
        // index, which SQLite gives the database's own permissions.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE scratch (x);")
            .unwrap();
        for side in ["-wal", "-shm"] {
            let mut name = path.clone().into_os_string();
            name.push(side);
            assert_eq!(mode(Path::new(&name)), 0o600, "{db}{side}");
        }
    }
}

#[test]
fn import_says_what_it_left_out_and_refuses_an_untrusted_archive() {
    let (dir, signer, other) = setup();
    refused_untrusted(
        &dir,
        &["import", "{rows.keepsake}", "--db", "{new.db}"],
        &other,
    );
    assert!(!dir.path("new.db").exists());

    let imported = dir
        .run(&[
            "import",
            "{rows.keepsake}",
            "--db",
            "{new.db}",
            "--key-file",
            "{k.key}",
            "--trusted-signer",
            &signer,
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(imported["inserted"]["messages"], 300);
    assert_eq!(imported["left_out"]["active_conversation_messages"], 0);
    assert_eq!(imported["left_out"]["future_consent"], 0);

    // Back into the database it came from, whose conversations are its own.
    let again = dir
        .run(&[
            "import",
            "{rows.keepsake}",
            "--db",
            "{source.db}",
            "--key-file",
            "{k.key}",
        ])
        .expect(0);
    assert!(
        again
            .stdout
            .contains("left out 300 messages of conversations this database already has and uses"),
        "{again:?}"
    );
    let again = dir
        .run(&[
            "import",
            "{rows.keepsake}",
            "--db",
            "{source.db}",
            "--key-file",
            "{k.key}",
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(again["left_out"]["active_conversation_messages"], 300);
    assert_eq!(again["inserted"]["messages"], 0);
    assert_eq!(again["skipped"]["messages"], 0);
}

#[test]
fn restore_says_what_it_removed_and_refuses_an_untrusted_archive() {
    let (dir, signer, other) = setup();
    refused_untrusted(
        &dir,
        &["restore", "{pages.keepsake}", "--out", "{r.db}"],
        &other,
    );
    assert!(!dir.path("r.db").exists());

    let restored = dir
        .run(&[
            "restore",
            "{pages.keepsake}",
            "--out",
            "{r.db}",
            "--key-file",
            "{k.key}",
            "--trusted-signer",
            &signer,
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(restored["removed_triggers"], serde_json::json!(["allow"]));
    assert_eq!(restored["removed_views"], serde_json::json!(["recent"]));
    assert_eq!(restored["check"], "quick_check");

    let human = dir
        .run(&[
            "restore",
            "{pages.keepsake}",
            "--out",
            "{kept.db}",
            "--key-file",
            "{k.key}",
            "--keep-triggers-and-views",
            "--full-check",
        ])
        .expect(0);
    assert!(
        human.stdout.contains("SQLite's integrity_check ok"),
        "{human:?}"
    );
    assert!(!human.stdout.contains("removed"), "{human:?}");
    let objects: i64 = rusqlite::Connection::open(dir.path("kept.db"))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type IN ('trigger', 'view')",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(objects, 2);
}
