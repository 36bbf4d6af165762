//! The `keepsake` binary end to end: real processes, real files in temporary
//! directories, exit codes and output as a user or a script sees them.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

mod common;
use common::Run;
use common::database_digest;

fn keepsake<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Run::of(Command::new(env!("CARGO_BIN_EXE_keepsake")).args(args))
}

/// A key, a small sample database and an archive of it, in a temporary directory.
struct Fixture {
    dir: TempDir,
    key: PathBuf,
    db: PathBuf,
    archive: PathBuf,
    /// The `counts` object of `sample --json`.
    counts: Value,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let key = dir.path().join("test.key");
        let db = dir.path().join("source.db");
        let archive = dir.path().join("backup.keepsake");
        keepsake([OsStr::new("keygen"), OsStr::new("--out"), key.as_os_str()]).expect(0);
        let sample = keepsake([
            OsStr::new("sample"),
            OsStr::new("--db"),
            db.as_os_str(),
            OsStr::new("--messages"),
            OsStr::new("120"),
            OsStr::new("--conversations"),
            OsStr::new("6"),
            OsStr::new("--seed"),
            OsStr::new("7"),
            OsStr::new("--json"),
        ])
        .expect(0)
        .json();
        let counts = sample["counts"].clone();
        assert_eq!(counts["messages"], 120);
        assert_eq!(counts["conversations"], 6);
        let fixture = Fixture {
            dir,
            key,
            db,
            archive,
            counts,
        };
        let created = fixture
            .run(&[
                "create",
                "--db",
                "{db}",
                "--out",
                "{archive}",
                "--key-file",
                "{key}",
                "--json",
            ])
            .expect(0)
            .json();
        assert_eq!(created["counts"], fixture.counts);
        fixture
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs the binary with `{db}`, `{archive}` and `{key}` replaced by the
    /// fixture's paths and `{dir}/` by its directory.
    /// Imports a damaged `archive` into `target.db` with the right key: it
    /// must exit 4.
    fn import_damaged(&self, archive: &str) -> Run {
        self.run(&[
            "import",
            archive,
            "--db",
            "{dir}/target.db",
            "--key-file",
            "{key}",
        ])
        .expect(4)
    }

    fn run(&self, args: &[&str]) -> Run {
        let dir = self.dir.path().to_string_lossy().into_owned();
        keepsake(args.iter().map(|arg| match *arg {
            "{db}" => self.db.clone().into_os_string(),
            "{archive}" => self.archive.clone().into_os_string(),
            "{key}" => self.key.clone().into_os_string(),
            other => other.replace("{dir}", &dir).into(),
        }))
    }

    /// A database that already holds other data, for imports that must not change it.
    fn target_db(&self, name: &str) -> PathBuf {
        let db = self.path(name);
        self.run(&[
            "sample",
            "--db",
            &format!("{{dir}}/{name}"),
            "--messages",
            "30",
            "--conversations",
            "3",
            "--seed",
            "99",
        ])
        .expect(0);
        db
    }

    /// A copy of the archive changed by `damage`, under `name`.
    fn damaged(&self, name: &str, damage: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
        let mut bytes = fs::read(&self.archive).expect("the archive reads");
        damage(&mut bytes);
        let path = self.path(name);
        fs::write(&path, bytes).expect("the damaged copy writes");
        path
    }

    fn archive_len(&self) -> usize {
        fs::metadata(&self.archive)
            .expect("the archive exists")
            .len() as usize
    }
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

#[test]
fn keygen_sample_create_inspect_import_verify() {
    let fixture = Fixture::new();

    let key_text = fs::read_to_string(&fixture.key).expect("the key file reads");
    assert_eq!(key_text.len(), 65);
    assert!(key_text.ends_with('\n'));
    assert!(key_text[..64].bytes().all(|b| b.is_ascii_hexdigit()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&fixture.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let inspect = fixture
        .run(&["inspect", "{archive}", "--key-file", "{key}", "--json"])
        .expect(0)
        .json();
    assert_eq!(inspect["ok"], true);
    assert_eq!(inspect["counts"], fixture.counts);
    assert_eq!(inspect["format_version"], 1);
    assert_eq!(inspect["key_slots"], 1);
    assert_eq!(inspect["mode"], "records");
    assert_eq!(inspect["archive_bytes"], fixture.archive_len() as u64);
    assert_eq!(
        inspect["selection"]["elements"],
        serde_json::json!(["messages", "consent"])
    );
    let range = &inspect["time_range"];
    assert!(range["earliest_ns"].as_i64().unwrap() <= range["latest_ns"].as_i64().unwrap());
    assert!(range["earliest"].as_str().unwrap().ends_with('Z'));

    let restored = fixture.path("restored.db");
    let import = [
        "import",
        "{archive}",
        "--db",
        "{dir}/restored.db",
        "--key-file",
        "{key}",
        "--json",
    ];
    let first = fixture.run(&import).expect(0).json();
    assert_eq!(first["inserted"], fixture.counts);
    assert_eq!(
        first["skipped"],
        serde_json::json!({"conversations": 0, "messages": 0, "consent": 0})
    );
    let after_first = database_digest(&restored);

    let again = fixture.run(&import).expect(0).json();
    assert_eq!(
        again["inserted"],
        serde_json::json!({"conversations": 0, "messages": 0, "consent": 0})
    );
    assert_eq!(again["skipped"], fixture.counts);
    assert_eq!(database_digest(&restored), after_first);

    let verify = fixture
        .run(&["verify", "{archive}", "--key-file", "{key}", "--json"])
        .expect(0)
        .json();
    assert_eq!(verify["ok"], true);
    assert_eq!(verify["counts"], fixture.counts);
    assert_eq!(verify["chunks"], inspect["chunks"]);

    // The human forms say the same in words.
    let human = fixture
        .run(&["verify", "{archive}", "--key-file", "{key}"])
        .expect(0);
    assert!(human.stdout.contains("is intact"), "{human:?}");
    assert!(
        human
            .stdout
            .contains(&format!("{} messages", fixture.counts["messages"]))
    );
}

#[test]
fn keygen_never_overwrites() {
    let fixture = Fixture::new();
    let before = fs::read(&fixture.key).unwrap();
    let run = fixture.run(&["keygen", "--out", "{key}"]).expect(1);
    assert!(run.stderr.contains("already exists"), "{run:?}");
    assert_eq!(fs::read(&fixture.key).unwrap(), before);
}

#[test]
fn create_never_overwrites_and_needs_a_database() {
    let fixture = Fixture::new();
    let before = fs::read(&fixture.archive).unwrap();
    fixture
        .run(&[
            "create",
            "--db",
            "{db}",
            "--out",
            "{archive}",
            "--key-file",
            "{key}",
        ])
        .expect(1);
    assert_eq!(fs::read(&fixture.archive).unwrap(), before);
    let run = fixture
        .run(&[
            "create",
            "--db",
            "{dir}/missing.db",
            "--out",
            "{dir}/new.keepsake",
            "--key-file",
            "{key}",
        ])
        .expect(1);
    assert!(run.stderr.contains("missing.db"), "{run:?}");
    assert!(!fixture.path("missing.db").exists());
    assert!(!fixture.path("new.keepsake").exists());
}

#[test]
fn a_wrong_key_exits_3_and_imports_nothing() {
    let fixture = Fixture::new();
    let target = fixture.target_db("target.db");
    let before = database_digest(&target);
    fixture
        .run(&["keygen", "--out", "{dir}/other.key"])
        .expect(0);
    let other = fs::read_to_string(fixture.path("other.key")).unwrap();
    let ours = fs::read_to_string(&fixture.key).unwrap();

    let run = fixture
        .run(&[
            "import",
            "{archive}",
            "--db",
            "{dir}/target.db",
            "--key-file",
            "{dir}/other.key",
        ])
        .expect(3);
    assert!(run.stderr.contains("--key-file"), "{run:?}");
    assert!(run.stderr.contains("nothing was imported"), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert_eq!(database_digest(&target), before);

    for command in ["inspect", "verify"] {
        let run = fixture
            .run(&[command, "{archive}", "--key-file", "{dir}/other.key"])
            .expect(3);
        // Key material never appears in output.
        for key in [&other, &ours] {
            assert!(!run.stderr.contains(key.trim()), "{run:?}");
        }
    }

    let failed = fixture
        .run(&[
            "verify",
            "{archive}",
            "--key-file",
            "{dir}/other.key",
            "--json",
        ])
        .expect(3)
        .json();
    assert_eq!(failed["ok"], false);
    assert_eq!(failed["error"]["kind"], "wrong_key");
    assert_eq!(failed["error"]["exit_code"], 3);
}

#[test]
fn a_truncated_archive_exits_4_and_imports_nothing() {
    let fixture = Fixture::new();
    let target = fixture.target_db("target.db");
    let before = database_digest(&target);
    let len = fixture.archive_len();
    // The empty file, inside the magic, the prelude and the key slots, the
    // middle of the body, the start of the final frame, and one byte short.
    let final_frame = keepsake::format::FINAL_FRAME_LEN;
    for cut in [
        0,
        5,
        9,
        30,
        100,
        len / 2,
        len - final_frame,
        len - 100,
        len - 1,
    ] {
        let name = format!("cut-{cut}.keepsake");
        let archive = fixture.damaged(&name, |bytes| bytes.truncate(cut));
        let archive = path_arg(&archive);
        let run = fixture.import_damaged(archive);
        assert!(run.stderr.contains("nothing was imported"), "{run:?}");
        assert_eq!(database_digest(&target), before, "cut at {cut}");
        fixture
            .run(&["verify", archive, "--key-file", "{key}"])
            .expect(4);
    }
    let tail = fixture.damaged("tail.keepsake", |bytes| bytes.truncate(len / 2));
    let run = fixture
        .run(&["verify", path_arg(&tail), "--key-file", "{key}"])
        .expect(4);
    assert!(run.stderr.contains("truncated"), "{run:?}");
}

#[test]
fn a_flipped_byte_or_extra_data_exits_4_and_imports_nothing() {
    let fixture = Fixture::new();
    let target = fixture.target_db("target.db");
    let before = database_digest(&target);
    let len = fixture.archive_len();
    // The archive salt (bound by the header MAC), the middle of the body, and
    // the final frame's tag.
    for at in [30, len / 2, len - 3] {
        let name = format!("flip-{at}.keepsake");
        let archive = fixture.damaged(&name, |bytes| bytes[at] ^= 0x10);
        let archive = path_arg(&archive);
        fixture.import_damaged(archive);
        assert_eq!(database_digest(&target), before, "flip at {at}");
        fixture
            .run(&["verify", archive, "--key-file", "{key}"])
            .expect(4);
    }
    let extended = fixture.damaged("extended.keepsake", |bytes| bytes.push(0));
    fixture.import_damaged(path_arg(&extended));
    assert_eq!(database_digest(&target), before);

    fs::write(fixture.path("notes.txt"), "not an archive at all\n").unwrap();
    let run = fixture
        .run(&["inspect", "{dir}/notes.txt", "--key-file", "{key}"])
        .expect(4);
    assert!(run.stderr.contains("not a Keepsake archive"), "{run:?}");
}

#[test]
fn a_future_format_version_exits_5() {
    let fixture = Fixture::new();
    let future = fixture.damaged("future.keepsake", |bytes| bytes[8] = 2);
    let future = path_arg(&future);
    for command in ["inspect", "verify"] {
        let run = fixture
            .run(&[command, future, "--key-file", "{key}"])
            .expect(5);
        assert!(run.stderr.contains("version 2"), "{run:?}");
    }
    fixture
        .run(&[
            "import",
            future,
            "--db",
            "{dir}/restored.db",
            "--key-file",
            "{key}",
        ])
        .expect(5);
}

#[test]
fn bad_key_files_are_clear_errors() {
    let fixture = Fixture::new();
    let cases: [(&str, Vec<u8>); 5] = [
        ("short.key", b"0123456789abcdef\n".to_vec()),
        ("not-hex.key", format!("{}\n", "zz".repeat(32)).into_bytes()),
        ("empty.key", Vec::new()),
        ("long.key", vec![b'a'; 65]),
        ("huge.key", vec![0; 1 << 20]),
    ];
    for (name, bytes) in cases {
        fs::write(fixture.path(name), bytes).unwrap();
        let key = format!("{{dir}}/{name}");
        let run = fixture
            .run(&["inspect", "{archive}", "--key-file", &key])
            .expect(2);
        assert!(run.stderr.contains("invalid key"), "{run:?}");
        assert!(run.stderr.contains(name), "{run:?}");
    }
    let run = fixture
        .run(&["verify", "{archive}", "--key-file", "{dir}/absent.key"])
        .expect(1);
    assert!(run.stderr.contains("absent.key"), "{run:?}");
    // 32 raw bytes are a key too (just not this archive's); ones that do not
    // look random open with a warning (spec §4.5.5).
    let random: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(151) ^ 0x9c).collect();
    fs::write(fixture.path("raw.key"), &random).unwrap();
    let run = fixture
        .run(&["verify", "{archive}", "--key-file", "{dir}/raw.key"])
        .expect(3);
    assert!(!run.stderr.contains("warning"), "{run:?}");
    fs::write(fixture.path("same.key"), [7u8; 32]).unwrap();
    let run = fixture
        .run(&["verify", "{archive}", "--key-file", "{dir}/same.key"])
        .expect(3);
    assert!(
        run.stderr.starts_with("keepsake: warning: key file"),
        "{run:?}"
    );
}

#[test]
fn invalid_option_values_exit_2() {
    let fixture = Fixture::new();
    let create = |extra: &[&str]| {
        let mut args = vec![
            "create",
            "--db",
            "{db}",
            "--out",
            "{dir}/new.keepsake",
            "--key-file",
            "{key}",
        ];
        args.extend_from_slice(extra);
        fixture.run(&args)
    };
    let run = create(&["--since", "yesterday"]).expect(2);
    assert!(run.stderr.contains("RFC 3339"), "{run:?}");
    create(&["--until", "2025-13-01T00:00:00Z"]).expect(2);
    create(&[
        "--since",
        "2025-02-01T00:00:00Z",
        "--until",
        "2025-01-01T00:00:00Z",
    ])
    .expect(2);
    create(&["--chunk-size", "100"]).expect(2);
    create(&["--level", "99"]).expect(2);
    create(&["--elements", "photos"]).expect(2);
    assert!(!fixture.path("new.keepsake").exists());
    keepsake(["create"]).expect(2);
    keepsake(["frobnicate"]).expect(2);
}

#[test]
fn a_time_range_selects_messages_and_their_conversations() {
    let fixture = Fixture::new();
    let since = "2025-01-01T00:00:00Z";
    let until = "2025-03-01T00:00:00Z";
    let created = fixture
        .run(&[
            "create",
            "--db",
            "{db}",
            "--out",
            "{dir}/range.keepsake",
            "--key-file",
            "{key}",
            "--since",
            since,
            "--until",
            until,
            "--elements",
            "messages",
            "--json",
        ])
        .expect(0)
        .json();
    let selection = &created["selection"];
    assert_eq!(selection["since"], since);
    assert_eq!(selection["until"], until);
    assert_eq!(selection["since_ns"], 1_735_689_600_000_000_000i64);
    assert_eq!(selection["elements"], serde_json::json!(["messages"]));
    let messages = created["counts"]["messages"].as_u64().unwrap();
    assert!(messages > 0 && messages < 120, "{created}");
    assert_eq!(created["counts"]["consent"], 0);
    let range = &created["time_range"];
    assert!(range["earliest_ns"].as_i64().unwrap() >= 1_735_689_600_000_000_000);
    assert!(range["latest_ns"].as_i64().unwrap() < 1_740_787_200_000_000_000);

    let inspect = fixture
        .run(&[
            "inspect",
            "{dir}/range.keepsake",
            "--key-file",
            "{key}",
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(inspect["selection"], created["selection"]);
    assert_eq!(inspect["counts"], created["counts"]);
    assert_eq!(inspect["time_range"], created["time_range"]);
}

#[test]
fn json_output_is_exactly_one_object() {
    let fixture = Fixture::new();
    let runs = [
        fixture.run(&[
            "create",
            "--db",
            "{db}",
            "--out",
            "{dir}/b.keepsake",
            "--key-file",
            "{key}",
            "--json",
        ]),
        fixture.run(&["inspect", "{archive}", "--key-file", "{key}", "--json"]),
        fixture.run(&["verify", "{archive}", "--key-file", "{key}", "--json"]),
        fixture.run(&[
            "import",
            "{archive}",
            "--db",
            "{dir}/r.db",
            "--key-file",
            "{key}",
            "--json",
        ]),
    ];
    for run in runs {
        let value = run.expect(0).json();
        assert_eq!(value["ok"], true);
        assert!(value["command"].is_string());
    }
    let damaged = fixture.damaged("cut.keepsake", |bytes| bytes.truncate(200));
    let failed = fixture
        .run(&[
            "import",
            path_arg(&damaged),
            "--db",
            "{dir}/r.db",
            "--key-file",
            "{key}",
            "--json",
        ])
        .expect(4)
        .json();
    assert_eq!(failed["ok"], false);
    assert_eq!(failed["error"]["exit_code"], 4);
    assert!(failed["error"]["message"].is_string());
}

#[test]
fn demo_runs() {
    let run = keepsake(["demo", "--messages", "200", "--conversations", "5"]).expect(0);
    for step in ["keygen", "sample", "create", "inspect", "import", "verify"] {
        assert!(run.stdout.contains(step), "{run:?}");
    }
}

#[test]
fn import_part_of_an_archive_and_salvage_a_damaged_one() {
    let fixture = Fixture::new();
    let conversation: Vec<u8> = rusqlite::Connection::open(&fixture.db)
        .unwrap()
        .query_row(
            "SELECT id FROM conversations ORDER BY id LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let id: String = conversation.iter().map(|b| format!("{b:02x}")).collect();
    let partial = fixture
        .run(&[
            "import",
            "{archive}",
            "--db",
            "{dir}/partial.db",
            "--key-file",
            "{key}",
            "--conversation",
            &id,
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(partial["used_index"], true);
    assert_eq!(partial["inserted"]["conversations"], 1);
    assert!(
        partial["chunks_decrypted"].as_u64().unwrap() <= partial["chunks_total"].as_u64().unwrap()
    );
    let inspect = fixture
        .run(&["inspect", "{archive}", "--key-file", "{key}", "--json"])
        .expect(0)
        .json();
    assert!(inspect["seek_index_chunk"].as_u64().unwrap() >= 1);

    // An intact archive salvages completely.
    let whole = fixture
        .run(&[
            "salvage",
            "{archive}",
            "--out",
            "{dir}/whole.ksk",
            "--key-file",
            "{key}",
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(whole["complete"], true);
    assert_eq!(whole["written"], fixture.counts);

    // A cut-off copy salvages with loss: exit status 6 and a new archive that verifies.
    let bytes = fs::read(&fixture.archive).unwrap();
    fs::write(fixture.path("cut.ksk"), &bytes[..bytes.len() - 100]).unwrap();
    let cut = fixture
        .run(&[
            "salvage",
            "{dir}/cut.ksk",
            "--out",
            "{dir}/saved.ksk",
            "--key-file",
            "{key}",
            "--json",
        ])
        .expect(6)
        .json();
    assert_eq!(cut["complete"], false);
    assert!(cut["truncated_at"].as_u64().is_some());
    let verified = fixture
        .run(&["verify", "{dir}/saved.ksk", "--key-file", "{key}"])
        .expect(0);
    assert!(
        verified
            .stdout
            .contains("salvaged  from a damaged archive created"),
        "{}",
        verified.stdout
    );
    // Inspect and verify say where a salvaged archive came from.
    let salvaged = fixture
        .run(&[
            "inspect",
            "{dir}/saved.ksk",
            "--key-file",
            "{key}",
            "--json",
        ])
        .expect(0)
        .json();
    assert!(salvaged["creator"].as_str().unwrap().ends_with(" salvage"));
    let from = &salvaged["salvaged_from"];
    assert_eq!(from["readable"], true);
    assert_eq!(from["complete"], false);
    assert_eq!(from["truncated_at"], cut["truncated_at"]);
    assert_eq!(from["original_creator"], inspect["creator"]);
    assert_eq!(from["original_created_at_ns"], inspect["created_at_ns"]);
    assert!(inspect["salvaged_from"].is_null());
    // The output is never overwritten.
    fixture
        .run(&[
            "salvage",
            "{dir}/cut.ksk",
            "--out",
            "{dir}/saved.ksk",
            "--key-file",
            "{key}",
        ])
        .expect(1);
}
