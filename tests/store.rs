//! Every command with archives in object storage, through the real
//! `keepsake` binary and a real S3-compatible server (s3s-fs, started in
//! this process on the loopback interface): round trips, a 200 MB archive
//! streamed both ways in flat memory, a partial import that fetches a small
//! part, an upload killed half way, a server that dies mid-download, and
//! the errors a user meets (wrong credentials, a missing bucket or key).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use keepsake_test_s3::{BUCKET, S3Server};

mod common;
use common::Run;
use common::database_digest;

/// The binary, with the server's credentials and endpoint in its environment.
fn keepsake(server: &S3Server) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keepsake"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command.envs(server.env());
    command
}

fn run(command: &mut Command) -> Run {
    Run::of(command)
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

struct Fixture {
    dir: tempfile::TempDir,
    key: PathBuf,
}

impl Fixture {
    fn new(server: &S3Server) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        run(keepsake(server).args(["keygen", "--out", path(&key)])).ok();
        Fixture { dir, key }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Imports one conversation of the archive at `url` into `db`; the report.
    fn import_conversation(&self, server: &S3Server, url: &str, db: &Path, id: &str) -> Value {
        let args = [
            "import",
            url,
            "--db",
            path(db),
            "--conversation",
            id,
            "--json",
        ];
        self.run(server, &args).ok().json()
    }

    /// Runs `args` with the key file.
    fn run(&self, server: &S3Server, args: &[&str]) -> Run {
        run(keepsake(server)
            .args(args)
            .args(["--key-file", path(&self.key)]))
    }
}

fn conversation_ids(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn
        .prepare("SELECT hex(id) FROM conversations ORDER BY id")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn count(db: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
        row.get(0)
    })
    .unwrap()
}

#[test]
fn every_command_reads_and_writes_object_urls() {
    let server = S3Server::start();
    let fx = Fixture::new(&server);
    let source = fx.path("chat.db");
    run(keepsake(&server).args(["sample", "--messages", "3000", "--db", path(&source)])).ok();
    let url = server.url("chats/chat.keepsake");

    let created = fx
        .run(
            &server,
            &["create", "--db", path(&source), "--out", &url, "--json"],
        )
        .ok()
        .json();
    assert_eq!(created["archive"], url.as_str());
    let stored = server.object_file(BUCKET, "chats/chat.keepsake");
    assert_eq!(
        created["archive_bytes"].as_u64(),
        Some(std::fs::metadata(&stored).unwrap().len())
    );

    let inspected = fx.run(&server, &["inspect", &url, "--json"]).ok().json();
    assert_eq!(inspected["counts"]["messages"], 3000);
    let fetched = inspected["bytes_fetched"].as_u64().unwrap();
    assert!(fetched > 0 && fetched <= inspected["archive_bytes"].as_u64().unwrap());
    let human = fx.run(&server, &["inspect", &url]).ok();
    assert!(human.stdout.contains("fetched"), "{human:?}");

    let verified = fx.run(&server, &["verify", &url, "--json"]).ok().json();
    assert_eq!(verified["counts"]["messages"], 3000);

    // The same archive imported from storage and from a local copy of the
    // object gives the same database.
    let from_store = fx.path("from-store.db");
    let imported = fx
        .run(
            &server,
            &["import", &url, "--db", path(&from_store), "--json"],
        )
        .ok()
        .json();
    assert_eq!(imported["inserted"]["messages"], 3000);
    let from_file = fx.path("from-file.db");
    fx.run(
        &server,
        &["import", path(&stored), "--db", path(&from_file)],
    )
    .ok();
    assert_eq!(database_digest(&from_store), database_digest(&from_file));

    let conversation = &conversation_ids(&source)[3];
    let partial = fx.path("partial.db");
    let selected = fx.import_conversation(&server, &url, &partial, conversation);
    assert_eq!(selected["used_index"], true);
    assert_eq!(selected["inserted"]["conversations"], 1);
    // This archive is small: its first read (64 KiB) holds much of it, and
    // its chunks are read again, each with at most 16 KiB beyond it; the
    // large archive's test checks the share fetched.
    let fetched = selected["bytes_fetched"].as_u64().unwrap();
    let chunks = selected["chunks_total"].as_u64().unwrap();
    assert!(fetched <= selected["archive_bytes"].as_u64().unwrap() + (64 + 16 * chunks) * 1024);
    let since = fx.path("since.db");
    fx.run(
        &server,
        &[
            "import",
            &url,
            "--db",
            path(&since),
            "--since",
            "2025-03-01T00:00:00Z",
        ],
    )
    .ok();
    assert!(count(&since, "messages") > 0);

    let pages = server.url("chats/pages.keepsake");
    fx.run(
        &server,
        &[
            "create",
            "--mode",
            "pages",
            "--db",
            path(&source),
            "--out",
            &pages,
        ],
    )
    .ok();
    let rebuilt = fx.path("rebuilt.db");
    fx.run(&server, &["restore", &pages, "--out", path(&rebuilt)])
        .ok();
    assert_eq!(database_digest(&rebuilt), database_digest(&source));

    let salvaged = server.url("chats/salvaged.keepsake");
    let salvage = fx
        .run(&server, &["salvage", &url, "--out", &salvaged, "--json"])
        .ok()
        .json();
    assert_eq!(salvage["complete"], true);
    fx.run(&server, &["verify", &salvaged]).ok();

    let listed = fx
        .run(&server, &["slots", "list", &url, "--json"])
        .ok()
        .json();
    assert_eq!(listed["slots"].as_array().unwrap().len(), 1);
    let second_key = fx.path("second.key");
    run(keepsake(&server).args(["keygen", "--out", path(&second_key)])).ok();
    let two = server.url("chats/two-slots.keepsake");
    fx.run(
        &server,
        &[
            "slots",
            "add",
            &url,
            "--out",
            &two,
            "--add-key-file",
            path(&second_key),
            "--name",
            "second",
        ],
    )
    .ok();
    run(keepsake(&server).args(["verify", &two, "--key-file", path(&second_key)])).ok();
    let one = server.url("chats/one-slot.keepsake");
    fx.run(
        &server,
        &["slots", "remove", &two, "--out", &one, "--name", "second"],
    )
    .ok();
    let after = fx
        .run(&server, &["slots", "list", &one, "--json"])
        .ok()
        .json();
    assert_eq!(after["slots"].as_array().unwrap().len(), 1);

    // A copy under a new file key, for the second key only: the first no
    // longer opens it.
    let rekeyed = server.url("chats/rekeyed.keepsake");
    fx.run(
        &server,
        &[
            "rekey",
            &url,
            "--out",
            &rekeyed,
            "--to-key-file",
            path(&second_key),
        ],
    )
    .ok();
    run(keepsake(&server).args(["verify", &rekeyed, "--key-file", path(&second_key)])).ok();
    assert_eq!(fx.run(&server, &["verify", &rekeyed]).code, 3);

    // An existing object is replaced only when asked.
    let before = std::fs::read(&stored).unwrap();
    let refused = fx.run(
        &server,
        &["create", "--db", path(&source), "--out", &url, "--json"],
    );
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(refused.json()["error"]["kind"], "exists");
    assert_eq!(std::fs::read(&stored).unwrap(), before);
    fx.run(
        &server,
        &["create", "--db", path(&source), "--out", &url, "--replace"],
    )
    .ok();
    assert_ne!(std::fs::read(&stored).unwrap(), before);
    assert_eq!(server.pending_parts(), 0);
}

#[test]
fn server_errors_and_dropped_connections_are_retried() {
    let server = S3Server::start();
    let fx = Fixture::new(&server);
    let source = fx.path("chat.db");
    run(keepsake(&server).args(["sample", "--messages", "3000", "--db", path(&source)])).ok();
    let url = server.url("flaky.keepsake");
    server.fail_next_requests(3);
    fx.run(&server, &["create", "--db", path(&source), "--out", &url])
        .ok();
    server.cut_next_bodies(2, 100_000);
    let db = fx.path("restored.db");
    let imported = fx
        .run(&server, &["import", &url, "--db", path(&db), "--json"])
        .ok()
        .json();
    assert_eq!(imported["inserted"]["messages"], 3000);
}

#[test]
fn wrong_credentials_and_missing_buckets_or_keys_are_clear_errors() {
    let server = S3Server::start();
    let fx = Fixture::new(&server);
    let source = fx.path("chat.db");
    run(keepsake(&server).args(["sample", "--messages", "200", "--db", path(&source)])).ok();
    let url = server.url("chat.keepsake");
    fx.run(&server, &["create", "--db", path(&source), "--out", &url])
        .ok();

    let failure = |run: Run| -> (String, String) {
        assert_eq!(run.code, 1, "{run:?}");
        let json = run.json();
        (
            json["error"]["kind"].as_str().unwrap().to_owned(),
            json["error"]["message"].as_str().unwrap().to_owned(),
        )
    };
    let mut denied = keepsake(&server);
    denied.env("AWS_SECRET_ACCESS_KEY", "not-the-secret");
    let db = fx.path("never.db");
    for args in [
        vec!["inspect", url.as_str(), "--json"],
        vec!["import", url.as_str(), "--db", path(&db), "--json"],
        vec![
            "create",
            "--db",
            path(&source),
            "--out",
            "s3://backups/other.keepsake",
            "--json",
        ],
    ] {
        let (kind, message) = failure(run(denied.args(&args).args(["--key-file", path(&fx.key)])));
        denied = keepsake(&server);
        denied.env("AWS_SECRET_ACCESS_KEY", "not-the-secret");
        assert_eq!(kind, "access_denied", "{args:?}: {message}");
        assert!(message.contains("access denied"), "{message}");
        assert!(!message.contains("not-the-secret"), "{message}");
    }
    assert!(!db.exists(), "a failed import leaves no new database");
    assert!(!server.has_object("other.keepsake"));

    let (kind, message) = failure(fx.run(
        &server,
        &["verify", &server.url("missing.keepsake"), "--json"],
    ));
    assert_eq!(kind, "not_found");
    assert!(message.contains("no such object"), "{message}");

    for args in [
        vec!["inspect", "s3://no-such-bucket/chat.keepsake", "--json"],
        vec![
            "create",
            "--db",
            path(&source),
            "--out",
            "s3://no-such-bucket/chat.keepsake",
            "--json",
        ],
    ] {
        let (kind, message) = failure(fx.run(&server, &args));
        assert_eq!(kind, "not_found", "{args:?}");
        assert!(message.contains("bucket does not exist"), "{message}");
    }
    assert!(
        !server.root().join("no-such-bucket").exists(),
        "no bucket was made"
    );

    let unknown = fx.run(&server, &["inspect", "ftp://host/chat.keepsake"]);
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(unknown.stderr.contains("ftp://"), "{unknown:?}");
}

/// A database of `messages` messages with incompressible 25 KB contents over
/// 100 conversations, written by SQLite itself (fast even unoptimised).
fn large_database(db: &Path, messages: u32) {
    let conn = keepsake_sqlite::open_database(db).unwrap();
    conn.execute_batch(&format!(
        "BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99)
         INSERT INTO conversations (id, kind, created_at_ns, name, member_ids)
         SELECT CAST(printf('conversation-%022d', i) AS BLOB), 'group', 1, 'c' || i, '[]' FROM n;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last})
         INSERT INTO messages (id, conversation_id, sender_id, sender_installation_id,
                               sent_at_ns, kind, content_type, content, delivery_status)
         SELECT CAST(printf('message-%024d', i) AS BLOB),
                CAST(printf('conversation-%022d', i % 100) AS BLOB),
                'sender', x'01', 1700000000000000000 + i * 1000000000, 'application',
                'attachment', randomblob(25000), 'published' FROM n;
         COMMIT;",
        last = messages - 1
    ))
    .unwrap();
}

/// Runs `command` to the end, sampling its peak resident memory (`VmHWM`).
fn run_measured(command: &mut Command) -> (Run, u64) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    while child.try_wait().unwrap().is_none() {
        if let Ok(status) = std::fs::read_to_string(&status_file)
            && let Some(kib) = status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    (run, peak_kib * 1024)
}

/// Waits, boundedly, until `ready` holds.
fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "waited too long for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn kill(mut child: Child) -> bool {
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    running
}

/// The large archive: created into storage and imported from it with memory
/// that does not grow with it, then read in part, uploaded and killed, and
/// downloaded while the server dies.
#[test]
fn a_200_mb_archive_streams_both_ways_in_flat_memory() {
    const MIB: u64 = 1024 * 1024;
    // Each run's peak, far below the archive's size: a few upload parts, a
    // chunk or two per worker, the runtime.
    const PEAK_LIMIT: u64 = 128 * MIB;
    let started = Instant::now();
    let server = S3Server::start();
    let fx = Fixture::new(&server);
    let source = fx.path("large.db");
    large_database(&source, 8000);
    let url = server.url("large.keepsake");

    let (created, create_peak) = run_measured(
        keepsake(&server)
            .args(["create", "--db", path(&source), "--out", &url, "--json"])
            .args(["--key-file", path(&fx.key)]),
    );
    let archive_bytes = created.ok().json()["archive_bytes"].as_u64().unwrap();
    assert!(archive_bytes >= 200 * 1_000_000, "{archive_bytes} bytes");
    assert_eq!(server.pending_parts(), 0);

    let db = fx.path("imported.db");
    let (imported, import_peak) = run_measured(
        keepsake(&server)
            .args(["import", &url, "--db", path(&db), "--json"])
            .args(["--key-file", path(&fx.key)]),
    );
    assert_eq!(imported.ok().json()["inserted"]["messages"], 8000);
    eprintln!(
        "{archive_bytes} bytes: create peak {:.1} MiB, import peak {:.1} MiB",
        create_peak as f64 / MIB as f64,
        import_peak as f64 / MIB as f64
    );
    assert!(
        create_peak > 0 && create_peak < PEAK_LIMIT,
        "create peaked at {create_peak} bytes"
    );
    assert!(
        import_peak > 0 && import_peak < PEAK_LIMIT,
        "import peaked at {import_peak} bytes"
    );

    // One conversation of a hundred: a small part of the archive, by both
    // the report and the server's count. The archive groups each window of
    // about 8 MiB of the table by conversation, so with messages this large
    // a conversation has a few messages in about one chunk per window: some
    // 13% of the archive, where a conversation written whole would take 1%.
    let served_before = server.body_bytes_sent();
    let partial = fx.path("partial.db");
    let conversation = &conversation_ids(&source)[42];
    let selected = fx.import_conversation(&server, &url, &partial, conversation);
    let served = server.body_bytes_sent() - served_before;
    let fetched = selected["bytes_fetched"].as_u64().unwrap();
    eprintln!("partial import: fetched {fetched} of {archive_bytes} bytes, server sent {served}");
    assert_eq!(selected["inserted"]["messages"], 80);
    assert!(
        fetched < archive_bytes / 5,
        "fetched {fetched} of {archive_bytes}"
    );
    assert!(
        served <= fetched + 64 * 1024,
        "server sent {served}, reported {fetched}"
    );

    // An upload killed half way: no object, ever.
    let killed_url = server.url("killed.keepsake");
    let parts_before = server.pending_parts();
    let child = keepsake(&server)
        .args(["create", "--db", path(&source), "--out", &killed_url])
        .args(["--key-file", path(&fx.key)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("an uploaded part", || {
        server.pending_parts() > parts_before + 1
    });
    assert!(kill(child), "the create was still running when killed");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!server.has_object("killed.keepsake"));
    let listed = fx.run(&server, &["inspect", &killed_url, "--json"]);
    assert_eq!(listed.json()["error"]["kind"], "not_found");

    // The server dies a quarter of the way through a download into a
    // database that has data: the database is exactly as it was.
    let existing = fx.path("existing.db");
    std::fs::copy(&partial, &existing).unwrap();
    let before = database_digest(&existing);
    server.stop_after_body_bytes(server.body_bytes_sent() + archive_bytes / 4);
    let failed = fx.run(
        &server,
        &[
            "import",
            &url,
            "--db",
            path(&existing),
            "--json",
            "--store-retries",
            "1",
        ],
    );
    assert!(server.is_down());
    assert_eq!(failed.code, 1, "{failed:?}");
    let error = &failed.json()["error"];
    assert_eq!(error["kind"], "io", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("large.keepsake"),
        "{error}"
    );
    assert_eq!(database_digest(&existing), before);
    eprintln!(
        "the large archive test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn flags_reach_the_store_without_the_environment() {
    let server = S3Server::start();
    let fx = Fixture::new(&server);
    let source = fx.path("chat.db");
    run(keepsake(&server).args(["sample", "--messages", "200", "--db", path(&source)])).ok();
    let url = server.url("flags.keepsake");
    fx.run(&server, &["create", "--db", path(&source), "--out", &url])
        .ok();
    let env: std::collections::HashMap<_, _> = server.env().into_iter().collect();
    let mut bare = keepsake(&server);
    for (name, _) in server.env() {
        bare.env_remove(name);
    }
    let inspected = run(bare
        .args(["inspect", &url, "--json", "--key-file", path(&fx.key)])
        .args(["--endpoint-url", &env["AWS_ENDPOINT_URL"]])
        .args(["--region", &env["AWS_REGION"]])
        .args(["--access-key-id", &env["AWS_ACCESS_KEY_ID"]])
        .args(["--secret-access-key-env", "THE_SECRET"])
        .env("THE_SECRET", &env["AWS_SECRET_ACCESS_KEY"]))
    .ok()
    .json();
    assert_eq!(inspected["counts"]["messages"], 200);
}
