//! The C ABI from C: programs in `tests/c/`, built with the system C compiler
//! against the header and the built library, read every test vector and
//! write archives that the real `keepsake` binary verifies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keepsake::body::records::encode_record;
use keepsake::json::Json;
use keepsake::{Record, SigningKey, X25519Identity};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory this test runs from, where cargo puts the library it built
/// (`target/<profile>/deps`).
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its path");
    exe.parent()
        .expect("the test lives in a directory")
        .to_owned()
}

/// A library file cargo built, in `deps` or the profile directory above it.
fn built(name: &str) -> PathBuf {
    let deps = deps_dir();
    [deps.join(name), deps.join("..").join(name)]
        .into_iter()
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("{name} was not built next to {}", deps.display()))
}

/// Compiles `source` into `output` with the system C compiler, warnings as
/// errors, linked statically or against the shared library.
fn compile(source: &Path, output: &Path, statically: bool) {
    let dir = crate_dir();
    let mut cc = Command::new(std::env::var_os("CC").unwrap_or_else(|| "cc".into()));
    cc.args([
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-O1",
    ])
    .arg("-I")
    .arg(dir.join("include"))
    .arg("-I")
    .arg(dir.join("tests/c"))
    .arg(dir.join("tests/c").join(source))
    .arg("-o")
    .arg(output);
    if statically {
        cc.arg(built("libkeepsake_ffi.a"));
        // What the Rust standard library needs from the system
        // (`cargo rustc -- --print native-static-libs`).
        cc.args(["-lpthread", "-ldl", "-lm"]);
        if cfg!(target_os = "linux") {
            cc.args(["-lrt", "-lutil", "-lgcc_s"]);
        }
    } else {
        let library = built("libkeepsake_ffi.so");
        let directory = library.parent().expect("a directory");
        cc.arg("-L")
            .arg(directory)
            .arg("-lkeepsake_ffi")
            .arg(format!("-Wl,-rpath,{}", directory.display()));
    }
    let result = cc
        .output()
        .expect("the C compiler runs (is `cc` installed?)");
    assert!(
        result.status.success(),
        "compiling {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("the program runs");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

/// The manifest's facts about each vector, one tab-separated line each, in
/// the form `tests/c/vectors.c` reads.
fn facts(manifest: &Value) -> String {
    let limits = &manifest["reader_limits"];
    let mut out = format!(
        "limits\t{}\t{}\n",
        limits["max_chunk_size"], limits["max_record_size"]
    );
    for entry in manifest["vectors"].as_array().unwrap() {
        let text = |field: &str| entry[field].as_str().map(str::to_owned);
        let (opener, value) = [
            ("key", "key"),
            ("passphrase", "passphrase"),
            ("identity", "identity"),
        ]
        .into_iter()
        .find_map(|(field, opener)| text(field).map(|value| (opener, value)))
        .expect("every vector names its opener");
        let outcome = text("outcome").unwrap();
        let number = |field: &str| entry[field].to_string();
        let detail = match outcome.as_str() {
            "header_failure" => match text("error").unwrap().as_str() {
                "unsupported_suite" => format!("unsupported_suite:{}", number("suite")),
                error => error.to_owned(),
            },
            "chunk_failure" => number("chunk"),
            "truncated" | "trailing_data" => number("offset"),
            "unsupported_version" => number("version"),
            "limit_exceeded" => text("limit").unwrap(),
            "critical_unknown_chunk" => format!("{}:{}", number("chunk"), number("kind")),
            _ => "-".to_owned(),
        };
        let fields = [
            text("name").unwrap(),
            text("file").unwrap(),
            opener.to_owned(),
            value,
            outcome,
            detail,
            number("released_records"),
            text("released_records_sha256").unwrap(),
            text("records_file").unwrap_or_else(|| "-".to_owned()),
        ];
        assert!(fields.iter().all(|field| !field.contains(['\t', '\n'])));
        out.push_str(&fields.join("\t"));
        out.push('\n');
    }
    out
}

/// The tagged JSON lines `vectors.c` wrote for a success vector.
fn json_lines(path: &Path) -> Vec<(String, Value)> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .lines()
        .map(|line| {
            let (tag, json) = line.split_once('\t').expect("a tagged line");
            (
                tag.to_owned(),
                serde_json::from_str(json).expect("valid JSON"),
            )
        })
        .collect()
}

fn sha256_hex(records: &[Record]) -> String {
    let mut hash = Sha256::new();
    for record in records {
        hash.update(encode_record(record).unwrap());
    }
    keepsake::body::records::hex(&hash.finalize())
}

#[test]
fn every_vector_reads_through_the_c_abi_as_the_manifest_says() {
    let vectors = crate_dir().join("../../test-vectors");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(vectors.join("manifest.json")).unwrap()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let program = work.path().join("vectors");
    compile(&crate_dir().join("tests/c/vectors.c"), &program, false);
    let facts_path = work.path().join("facts.tsv");
    std::fs::write(&facts_path, facts(&manifest)).unwrap();
    let out_dir = work.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();

    let output = run(Command::new(&program)
        .arg(&vectors)
        .arg(&facts_path)
        .arg(&out_dir));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let count = manifest["vectors"].as_array().unwrap().len();
    assert!(
        output.status.success() && stdout.contains(&format!("checked {count} vectors, 0 failures")),
        "{stdout}"
    );

    // What the C program read as JSON, for every success vector.
    let mut successes = 0;
    for entry in manifest["vectors"].as_array().unwrap() {
        if entry["outcome"] != "success" {
            continue;
        }
        successes += 1;
        let name = entry["name"].as_str().unwrap();
        let lines = json_lines(&out_dir.join(format!("{name}.out")));
        let (_, opened) = lines.iter().find(|(tag, _)| tag == "metadata").unwrap();
        assert_eq!(opened["metadata"], entry["metadata"], "{name}");
        for field in ["key_slots", "max_chunk_size", "max_record_size"] {
            assert_eq!(opened[field], entry["header"][field], "{name}: {field}");
        }
        let batches: Vec<Value> = lines
            .iter()
            .filter(|(tag, _)| tag == "batch")
            .flat_map(|(_, batch)| batch.as_array().unwrap().clone())
            .collect();
        if let Some(file) = entry["records_file"].as_str() {
            let expected: Value =
                serde_json::from_slice(&std::fs::read(vectors.join(file)).unwrap()).unwrap();
            assert_eq!(Value::Array(batches.clone()), expected, "{name}: records");
        }
        // The JSON form reads back into exactly the released records.
        let records: Vec<Record> = batches
            .into_iter()
            .map(|value| serde_json::from_value::<Json<Record>>(value).unwrap().0)
            .collect();
        assert_eq!(
            sha256_hex(&records),
            entry["released_records_sha256"].as_str().unwrap(),
            "{name}: records from JSON"
        );
        let (_, end) = lines.iter().find(|(tag, _)| tag == "end").unwrap();
        assert_eq!(end["trailer"], entry["trailer"], "{name}: trailer");
        if let Some(signature) = entry.get("signature") {
            assert_eq!(end["signature"]["status"], signature["status"], "{name}");
            assert_eq!(
                end["signature"]["signer"],
                signature.get("signer").cloned().unwrap_or(Value::Null),
                "{name}"
            );
        }
    }
    assert!(successes > 40, "only {successes} success vectors");
}

/// The `keepsake` binary of this build: the one `cargo test` at the
/// workspace root built, or, when only this crate is tested, built now.
fn keepsake_binary() -> PathBuf {
    let profile_dir = deps_dir().join("..");
    let binary = profile_dir.join(format!("keepsake{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let profile = profile_dir.canonicalize().unwrap();
        let profile = profile.file_name().unwrap().to_str().unwrap().to_owned();
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "-p",
                "keepsake-cli",
                "--bin",
                "keepsake",
                "--profile",
            ])
            .arg(if profile == "debug" { "dev" } else { &profile })
            .arg("--target-dir")
            .arg(profile_dir.join(".."))
            .current_dir(crate_dir())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the keepsake binary failed");
    }
    binary
}

/// Runs the real `keepsake` binary and returns its JSON report.
fn keepsake(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Value {
    let mut command = Command::new(keepsake_binary());
    command.args(args).arg("--json").envs(env.iter().copied());
    let output = run(&mut command);
    assert!(
        output.status.success(),
        "keepsake {args:?} failed: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON report")
}

fn counts(conversations: u64, messages: u64, consent: u64) -> Value {
    serde_json::json!({"conversations": conversations, "messages": messages, "consent": consent})
}

#[test]
fn c_writes_archives_the_keepsake_binary_verifies() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let program = dir.join("roundtrip");
    compile(&crate_dir().join("tests/c/roundtrip.c"), &program, true);

    let key_hex = "4b".repeat(32);
    let identity = X25519Identity::from_bytes([7; 32]);
    let signing_key = SigningKey::from_bytes([9; 32]);
    let signer = signing_key.signer().to_string();
    let output = run(Command::new(&program)
        .arg(dir)
        .arg(&key_hex)
        .arg(identity.recipient().to_string())
        .arg(identity.to_text().as_str())
        .arg(signing_key.to_text().as_str())
        .arg(&signer)
        .arg(SigningKey::from_bytes([10; 32]).signer().to_string()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("done\t0 failures"),
        "{stdout}"
    );
    let mut facts: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for line in stdout.lines() {
        let mut fields = line.split('\t');
        let mut tag = fields.next().unwrap().to_owned();
        if tag == "progress" {
            tag = format!("progress {}", fields.next().unwrap());
        }
        facts.insert(tag, fields.collect());
    }
    let json = |tag: &str| -> Value { serde_json::from_str(facts[tag][0]).unwrap() };

    let written = counts(3, 120, 5);
    let trailer = json("trailer");
    assert_eq!(facts["written"], ["128"]);
    for kind in ["conversations", "messages", "consent"] {
        assert_eq!(trailer[kind], written[kind], "{kind}");
    }
    assert_eq!(json("metadata")["metadata"]["creator"], "keepsake C test");
    assert_eq!(json("metadata")["key_slots"], 3);
    assert_eq!(json("end")["trailer"], trailer);
    assert_eq!(json("end")["signature"]["status"], "valid");
    assert_eq!(json("end")["signature"]["signer"], signer.as_str());
    assert_eq!(json("summary")["trailer"], trailer);
    assert_eq!(json("summary")["signature"]["signer"], signer.as_str());
    assert_eq!(json("verify")["trailer"], trailer);
    assert_eq!(json("verify")["opened_with"], "x25519");
    // Opened with an X25519 identity, signed by a signer nobody named.
    assert_eq!(json("verify")["sender_authenticated"], false);
    assert_eq!(
        json("verify-trusted")["signature"]["signer"],
        signer.as_str()
    );
    assert_eq!(json("verify-trusted")["sender_authenticated"], true);
    assert_eq!(json("import")["signature"]["status"], "valid");
    assert_eq!(json("import")["future_consent"], 0);
    assert_eq!(json("import")["inserted"], written);
    assert_eq!(json("import-again")["skipped"], written);
    assert_eq!(json("import-again")["inserted"], counts(0, 0, 0));
    // From conversation 1 on, messages only.
    assert_eq!(json("create")["counts"], counts(2, 80, 0));
    for operation in ["verify", "import", "create"] {
        let progress = &facts[&format!("progress {operation}")];
        let events: u64 = progress[0].parse().unwrap();
        assert!(events >= 1, "{operation}: no progress event");
        assert_eq!(progress[1], "1", "{operation}: one finished event");
    }
    let damaged_chunk: u64 = facts["damaged"][0].parse().unwrap();
    assert!(damaged_chunk >= 1, "the damage is past the metadata chunk");

    // The real binary accepts what C wrote, by every slot, with its signer.
    let key_file = dir.join("my.key");
    std::fs::write(&key_file, format!("{key_hex}\n")).unwrap();
    let identity_file = dir.join("me.identity");
    std::fs::write(&identity_file, identity.to_file_contents("now").as_str()).unwrap();
    let archive = dir.join("callback.keepsake");
    let os = |text: &'static str| std::ffi::OsStr::new(text);
    let by_key = keepsake(
        &[
            os("verify"),
            archive.as_os_str(),
            os("--key-file"),
            key_file.as_os_str(),
            os("--trusted-signer"),
            std::ffi::OsStr::new(&signer),
        ],
        &[],
    );
    assert_eq!(by_key["counts"], written);
    keepsake(
        &[
            os("verify"),
            archive.as_os_str(),
            os("--identity"),
            identity_file.as_os_str(),
        ],
        &[],
    );
    keepsake(
        &[
            os("verify"),
            archive.as_os_str(),
            os("--passphrase-env"),
            os("PHRASE"),
        ],
        &[("PHRASE", "correct horse battery staple")],
    );
    let copy = keepsake(
        &[
            os("verify"),
            dir.join("file.keepsake").as_os_str(),
            os("--key-file"),
            key_file.as_os_str(),
        ],
        &[],
    );
    assert_eq!(copy["counts"], written);
    let from_db = keepsake(
        &[
            os("verify"),
            dir.join("from-db.keepsake").as_os_str(),
            os("--key-file"),
            key_file.as_os_str(),
        ],
        &[],
    );
    assert_eq!(from_db["counts"], counts(2, 80, 0));
}

#[test]
fn the_readme_c_example_compiles_and_runs() {
    let readme = std::fs::read_to_string(crate_dir().join("../../README.md")).unwrap();
    let start = readme.find("```c\n").expect("the README has a C example") + 5;
    let length = readme[start..].find("```\n").expect("the example ends");
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("example.c");
    std::fs::write(&source, &readme[start..start + length]).unwrap();
    let program = work.path().join("example");
    compile(&source, &program, true);
    let output = run(Command::new(&program).current_dir(work.path()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains(r#""content":"68656c6c6f""#), "{stdout}");
    assert!(
        stdout.contains(r#"import: {"inserted":{"conversations":1,"messages":1,"consent":0}"#),
        "{stdout}"
    );
    assert!(work.path().join("restored.db").exists());
}
