//! The `keepsake` binary with passphrases, X25519 identities, slot editing
//! and signatures: real processes and files, exit codes and JSON.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::Run;

const PASSPHRASE_VAR: &str = "KEEPSAKE_TEST_PASSPHRASE";
const PASSPHRASE: &str = "orbit velvet canyon lemon stapler ninth";

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Runs the binary with `{NAME}` replaced by the path of NAME in the
    /// directory, and the test passphrase in its environment variable.
    fn run(&self, args: &[&str]) -> Run {
        let args: Vec<OsString> = args
            .iter()
            .map(
                |arg| match arg.strip_prefix('{').and_then(|a| a.strip_suffix('}')) {
                    Some(name) => self.path(name).into_os_string(),
                    None => OsString::from(arg),
                },
            )
            .collect();
        Run::of(
            Command::new(env!("CARGO_BIN_EXE_keepsake"))
                .args(&args)
                .env(PASSPHRASE_VAR, PASSPHRASE)
                .env("KEEPSAKE_TEST_WRONG", "not the passphrase"),
        )
    }

    fn header_len(&self, name: &str) -> usize {
        let bytes = fs::read(self.path(name)).unwrap();
        match keepsake::format::Header::measure(&bytes).unwrap() {
            keepsake::format::HeaderLen::Exactly(len) => len,
            other => panic!("{other:?}"),
        }
    }

    fn body(&self, name: &str) -> Vec<u8> {
        let bytes = fs::read(self.path(name)).unwrap();
        bytes[self.header_len(name)..].to_vec()
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Keys of every kind, a sample database and an archive for all of them,
/// signed.
fn setup() -> (Dir, String, String) {
    let dir = Dir::new();
    dir.run(&["keygen", "--out", "{raw.key}"]).expect(0);
    let alice = dir
        .run(&["keygen", "--x25519", "--out", "{alice.identity}", "--json"])
        .expect(0)
        .json();
    let alice = alice["recipient"].as_str().unwrap().to_owned();
    assert!(alice.starts_with("keepsake1"), "{alice}");
    let text = fs::read_to_string(dir.path("alice.identity")).unwrap();
    assert!(text.contains(&format!("# recipient: {alice}")));
    assert!(text.lines().any(|l| l.starts_with("KEEPSAKE-SECRET-KEY-1")));
    assert_eq!(mode(&dir.path("alice.identity")), 0o600);
    let human = dir
        .run(&["keygen", "--x25519", "--out", "{bob.identity}"])
        .expect(0);
    let bob = human
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("recipient: "))
        .unwrap()
        .to_owned();
    let signer = dir
        .run(&["keygen", "--ed25519", "--out", "{signing.key}", "--json"])
        .expect(0)
        .json();
    let signer = signer["signer"].as_str().unwrap().to_owned();
    assert!(signer.starts_with("keepsakesig1"));
    assert_eq!(mode(&dir.path("signing.key")), 0o600);
    dir.run(&["sample", "--db", "{source.db}", "--messages", "40"])
        .expect(0);
    let created = dir
        .run(&[
            "create",
            "--db",
            "{source.db}",
            "--out",
            "{a.keepsake}",
            "--key-file",
            "{raw.key}",
            "--passphrase-env",
            PASSPHRASE_VAR,
            "--recipient",
            &alice,
            "--recipient",
            &bob,
            "--sign-with",
            "{signing.key}",
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(created["key_slots"], 4);
    assert_eq!(created["signer"], signer.as_str());
    (dir, signer, alice)
}

#[test]
fn every_opener_reads_an_archive_made_for_all_of_them() {
    let (dir, signer, _) = setup();
    for opener in [
        ["--key-file", "{raw.key}"],
        ["--passphrase-env", PASSPHRASE_VAR],
        ["--identity", "{alice.identity}"],
        ["--identity", "{bob.identity}"],
    ] {
        let mut args = vec!["inspect", "{a.keepsake}", "--json"];
        args.extend(opener);
        let run = dir.run(&args).expect(0);
        let inspected = run.json();
        assert_eq!(inspected["key_slots"], 4);
        assert_eq!(inspected["signature"], "valid");
        assert_eq!(inspected["signature_scheme"], 2);
        assert_eq!(inspected["signer"], signer.as_str());
        // Anyone who knows a recipient string can write what an identity
        // opens: without a required signer, the writer is not authenticated.
        let by_identity = opener[0] == "--identity";
        assert_eq!(inspected["sender_authenticated"], !by_identity);
        assert_eq!(
            run.stderr.contains("nothing shows who wrote it"),
            by_identity,
            "{}",
            run.stderr
        );
    }
    let verified = dir
        .run(&[
            "verify",
            "{a.keepsake}",
            "--identity",
            "{bob.identity}",
            "--trusted-signer",
            &signer,
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(verified["signature"], "valid");
    assert_eq!(verified["opened_with"], "x25519");
    assert_eq!(verified["sender_authenticated"], true);
    let unchecked = dir
        .run(&[
            "verify",
            "{a.keepsake}",
            "--identity",
            "{bob.identity}",
            "--json",
        ])
        .expect(0);
    assert_eq!(unchecked.json()["sender_authenticated"], false);
    assert!(
        unchecked.stderr.contains("warning:"),
        "{}",
        unchecked.stderr
    );
    dir.run(&[
        "import",
        "{a.keepsake}",
        "--db",
        "{restored.db}",
        "--passphrase-env",
        PASSPHRASE_VAR,
    ])
    .expect(0);
    // Imports, whole or partial, say the same about the writer.
    for (db, extra) in [
        ("{by-identity.db}", None),
        ("{partial.db}", Some("--since")),
    ] {
        let mut args = vec![
            "import",
            "{a.keepsake}",
            "--db",
            db,
            "--identity",
            "{bob.identity}",
            "--json",
        ];
        if let Some(option) = extra {
            args.extend([option, "2000-01-01T00:00:00Z"]);
        }
        let run = dir.run(&args).expect(0);
        let imported = run.json();
        assert_eq!(imported["signature"], "valid", "{extra:?}");
        assert_eq!(imported["sender_authenticated"], false, "{extra:?}");
        assert!(run.stderr.contains("warning:"), "{}", run.stderr);
    }

    // Wrong passphrase, a stranger's identity: exit 3.
    dir.run(&["keygen", "--x25519", "--out", "{carol.identity}"])
        .expect(0);
    dir.run(&[
        "inspect",
        "{a.keepsake}",
        "--passphrase-env",
        "KEEPSAKE_TEST_WRONG",
    ])
    .expect(3);
    let wrong = dir
        .run(&[
            "verify",
            "{a.keepsake}",
            "--identity",
            "{carol.identity}",
            "--json",
        ])
        .expect(3)
        .json();
    assert_eq!(wrong["error"]["kind"], "wrong_key");
    // No opener at all is a usage error; an unset variable too.
    dir.run(&["inspect", "{a.keepsake}"]).expect(2);
    dir.run(&[
        "inspect",
        "{a.keepsake}",
        "--passphrase-env",
        "KEEPSAKE_TEST_UNSET",
    ])
    .expect(2);
}

#[test]
fn trusted_signer_fails_with_exit_7_unless_it_signed() {
    let (dir, _, _) = setup();
    let other = dir
        .run(&["keygen", "--ed25519", "--out", "{other.key}", "--json"])
        .expect(0)
        .json();
    let other = other["signer"].as_str().unwrap();
    let refused = dir
        .run(&[
            "verify",
            "{a.keepsake}",
            "--key-file",
            "{raw.key}",
            "--trusted-signer",
            other,
            "--json",
        ])
        .expect(7)
        .json();
    assert_eq!(refused["error"]["kind"], "untrusted_signature");
    // An unsigned archive, and a mistyped signer.
    dir.run(&[
        "create",
        "--db",
        "{source.db}",
        "--out",
        "{unsigned.keepsake}",
        "--key-file",
        "{raw.key}",
    ])
    .expect(0);
    let inspected = dir
        .run(&[
            "inspect",
            "{unsigned.keepsake}",
            "--key-file",
            "{raw.key}",
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(inspected["signature"], "unsigned");
    dir.run(&[
        "verify",
        "{unsigned.keepsake}",
        "--key-file",
        "{raw.key}",
        "--trusted-signer",
        other,
    ])
    .expect(7);
    let mut typo = other.to_owned();
    typo.pop();
    typo.push(if other.ends_with('q') { 'p' } else { 'q' });
    dir.run(&[
        "verify",
        "{a.keepsake}",
        "--key-file",
        "{raw.key}",
        "--trusted-signer",
        &typo,
    ])
    .expect(2);
}

#[test]
fn slots_list_add_remove() {
    let (dir, signer, _) = setup();
    let listed = dir
        .run(&[
            "slots",
            "list",
            "{a.keepsake}",
            "--identity",
            "{alice.identity}",
            "--json",
        ])
        .expect(0)
        .json();
    let kinds: Vec<&str> = listed["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|slot| slot["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["raw-key", "passphrase", "x25519", "x25519"]);

    dir.run(&["keygen", "--out", "{laptop.key}"]).expect(0);
    let added = dir
        .run(&[
            "slots",
            "add",
            "{a.keepsake}",
            "--out",
            "{b.keepsake}",
            "--passphrase-env",
            PASSPHRASE_VAR,
            "--add-key-file",
            "{laptop.key}",
            "--name",
            "laptop",
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(added["key_slots"], 5);
    assert_eq!(dir.body("a.keepsake"), dir.body("b.keepsake"));
    let removed = dir
        .run(&[
            "slots",
            "remove",
            "{b.keepsake}",
            "--out",
            "{c.keepsake}",
            "--key-file",
            "{laptop.key}",
            "--index",
            "0",
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(removed["key_slots"], 4);
    assert_eq!(removed["revokes"], false);
    dir.run(&[
        "slots",
        "remove",
        "{c.keepsake}",
        "--out",
        "{d.keepsake}",
        "--key-file",
        "{laptop.key}",
        "--name",
        "laptop",
    ])
    .expect(0);
    assert_eq!(dir.body("a.keepsake"), dir.body("d.keepsake"));
    // The raw key and the laptop key no longer open it; Alice still does,
    // and the signature still verifies.
    dir.run(&["inspect", "{d.keepsake}", "--key-file", "{raw.key}"])
        .expect(3);
    dir.run(&["inspect", "{d.keepsake}", "--key-file", "{laptop.key}"])
        .expect(3);
    dir.run(&[
        "verify",
        "{d.keepsake}",
        "--identity",
        "{alice.identity}",
        "--trusted-signer",
        &signer,
    ])
    .expect(0);
    // Never overwrites; needs exactly one new opener; the last slot stays.
    dir.run(&[
        "slots",
        "add",
        "{a.keepsake}",
        "--out",
        "{d.keepsake}",
        "--key-file",
        "{raw.key}",
        "--add-key-file",
        "{laptop.key}",
    ])
    .expect(1);
    dir.run(&[
        "slots",
        "add",
        "{a.keepsake}",
        "--out",
        "{e.keepsake}",
        "--key-file",
        "{raw.key}",
    ])
    .expect(2);
    dir.run(&[
        "create",
        "--db",
        "{source.db}",
        "--out",
        "{single.keepsake}",
        "--key-file",
        "{raw.key}",
    ])
    .expect(0);
    dir.run(&[
        "slots",
        "remove",
        "{single.keepsake}",
        "--out",
        "{f.keepsake}",
        "--key-file",
        "{raw.key}",
        "--index",
        "0",
    ])
    .expect(2);
    assert!(!dir.path("f.keepsake").exists());
}

#[test]
fn keygen_never_overwrites_identities() {
    let dir = Dir::new();
    dir.run(&["keygen", "--x25519", "--out", "{id}"]).expect(0);
    let before = fs::read(dir.path("id")).unwrap();
    dir.run(&["keygen", "--x25519", "--out", "{id}"]).expect(1);
    dir.run(&["keygen", "--ed25519", "--out", "{id}"]).expect(1);
    assert_eq!(fs::read(dir.path("id")).unwrap(), before);
    dir.run(&["keygen", "--x25519", "--ed25519", "--out", "{other}"])
        .expect(2);
    // A recipient is refused where an identity file is expected.
    let recipient = dir
        .run(&["keygen", "--x25519", "--out", "{id2}", "--json"])
        .expect(0)
        .json()["recipient"]
        .as_str()
        .unwrap()
        .to_owned();
    fs::write(dir.path("not-an-identity"), recipient).unwrap();
    dir.run(&["sample", "--db", "{s.db}", "--messages", "5"])
        .expect(0);
    dir.run(&[
        "create",
        "--db",
        "{s.db}",
        "--out",
        "{x.keepsake}",
        "--identity",
        "{id}",
    ])
    .expect(2);
}

/// Removing a slot says it does not revoke, and the removed key still opens
/// the original; rekey makes a copy under a new file key that the removed
/// key cannot open, for the keys named only.
#[test]
fn slots_remove_does_not_revoke_and_rekey_does() {
    let (dir, signer, alice) = setup();
    let removed = dir.run(&[
        "slots",
        "remove",
        "{a.keepsake}",
        "--out",
        "{without-raw.keepsake}",
        "--identity",
        "{alice.identity}",
        "--index",
        "0",
    ]);
    let removed = removed.expect(0);
    assert!(
        removed.stdout.contains("does not revoke") && removed.stdout.contains("keepsake rekey"),
        "{}",
        removed.stdout
    );
    // The original, which every holder of the removed key may have kept,
    // still opens with it.
    dir.run(&["verify", "{a.keepsake}", "--key-file", "{raw.key}"])
        .expect(0);

    dir.run(&["keygen", "--out", "{new.key}"]).expect(0);
    let rekeyed = dir
        .run(&[
            "rekey",
            "{a.keepsake}",
            "--out",
            "{rekeyed.keepsake}",
            "--identity",
            "{alice.identity}",
            "--to-key-file",
            "{new.key}",
            "--to-recipient",
            &alice,
            "--sign-with",
            "{signing.key}",
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(rekeyed["key_slots"], 2);
    assert_eq!(rekeyed["revokes"], true);
    assert_eq!(rekeyed["source_signature"], "valid");
    // Only the keys named open the copy; it verifies, signed anew.
    for (opener, path, code) in [
        ("--key-file", "{raw.key}", 3),
        ("--passphrase-env", PASSPHRASE_VAR, 3),
        ("--identity", "{bob.identity}", 3),
        ("--key-file", "{new.key}", 0),
        ("--identity", "{alice.identity}", 0),
    ] {
        dir.run(&["inspect", "{rekeyed.keepsake}", opener, path])
            .expect(code);
    }
    let verified = dir
        .run(&[
            "verify",
            "{rekeyed.keepsake}",
            "--key-file",
            "{new.key}",
            "--trusted-signer",
            &signer,
            "--json",
        ])
        .expect(0)
        .json();
    let original = dir
        .run(&[
            "verify",
            "{a.keepsake}",
            "--key-file",
            "{raw.key}",
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(verified["counts"], original["counts"]);
    assert_eq!(verified["created_at_ns"], original["created_at_ns"]);
    // Never over an existing file; a wrong key leaves nothing.
    dir.run(&[
        "rekey",
        "{a.keepsake}",
        "--out",
        "{rekeyed.keepsake}",
        "--key-file",
        "{raw.key}",
        "--to-key-file",
        "{new.key}",
    ])
    .expect(1);
    dir.run(&[
        "rekey",
        "{a.keepsake}",
        "--out",
        "{nothing.keepsake}",
        "--key-file",
        "{new.key}",
        "--to-key-file",
        "{new.key}",
    ])
    .expect(3);
    assert!(!dir.path("nothing.keepsake").exists());
}

/// A raw key file of 32 printable characters is a typed phrase: refused for
/// a new archive, accepted with a warning to open an existing one.
#[test]
fn a_typed_phrase_as_a_key_file_is_refused_for_new_archives() {
    let dir = Dir::new();
    fs::write(dir.path("phrase.key"), b"my dog's name and my birth year!").unwrap();
    dir.run(&["sample", "--db", "{source.db}", "--messages", "5"])
        .expect(0);
    let refused = dir.run(&[
        "create",
        "--db",
        "{source.db}",
        "--out",
        "{a.keepsake}",
        "--key-file",
        "{phrase.key}",
    ]);
    let refused = refused.expect(2);
    assert!(
        refused.stderr.contains("typed phrase"),
        "{}",
        refused.stderr
    );
    assert!(!dir.path("a.keepsake").exists());
    // An archive already made for such a key (by another tool, or before
    // this check) still opens, with a warning.
    let key = keepsake::ArchiveKey::from_bytes(*b"my dog's name and my birth year!");
    let archive = keepsake::ArchiveWriter::new(
        Vec::new(),
        &[&key],
        &keepsake::ArchiveMetadata::now(),
        &keepsake::WriterOptions::default(),
    )
    .unwrap()
    .finish()
    .unwrap()
    .0;
    fs::write(dir.path("old.keepsake"), archive).unwrap();
    let opened = dir
        .run(&["inspect", "{old.keepsake}", "--key-file", "{phrase.key}"])
        .expect(0);
    assert!(
        opened.stderr.contains("warning: key file"),
        "{}",
        opened.stderr
    );
    // keygen's text form, and 32 random bytes, open without a word.
    dir.run(&["keygen", "--out", "{good.key}"]).expect(0);
    let text = fs::read_to_string(dir.path("good.key")).unwrap();
    assert_eq!(text.len(), 65);
    assert!(text.ends_with('\n') && text[..64].bytes().all(|b| b.is_ascii_hexdigit()));
    let created = dir.run(&[
        "create",
        "--db",
        "{source.db}",
        "--out",
        "{b.keepsake}",
        "--key-file",
        "{good.key}",
    ]);
    let created = created.expect(0);
    assert!(!created.stderr.contains("warning"), "{}", created.stderr);
}
