//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use sha2::{Digest, Sha256};

/// A digest of every row of every table, in a fixed order.
pub fn database_digest(db: &Path) -> [u8; 32] {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables.retain(|name| !name.starts_with("sqlite_"));
    let mut hasher = Sha256::new();
    for table in tables {
        hasher.update(table.as_bytes());
        let mut statement = conn
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1, 2"))
            .unwrap();
        let columns = statement.column_count();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for column in 0..columns {
                let value: rusqlite::types::Value = row.get(column).unwrap();
                hasher.update(format!("{value:?}\u{1f}").as_bytes());
            }
            hasher.update(b"\x1e");
        }
    }
    hasher.finalize().into()
}

/// The names in a directory, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// What one run of the `keepsake` binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs `command` to its end; a process killed by a signal fails the test.
    pub fn of(command: &mut std::process::Command) -> Run {
        let output = command.output().expect("the keepsake binary runs");
        Run {
            code: output
                .status
                .code()
                .unwrap_or_else(|| panic!("killed by a signal: {output:?}")),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Asserts the exit status, that nothing panicked, and that a failure
    /// is explained on stderr.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "unexpected exit status: {self:?}");
        assert!(
            !self.stderr.contains("panicked"),
            "the binary panicked: {self:?}"
        );
        if code != 0 {
            // The argument parser words its own usage errors.
            let parser = code == 2 && self.stderr.starts_with("error: ");
            assert!(
                self.stderr.starts_with("keepsake: ") || parser,
                "a failure must be explained on stderr: {self:?}"
            );
        }
        self
    }

    /// As `expect(0)`.
    pub fn ok(self) -> Run {
        self.expect(0)
    }

    /// The single JSON object on stdout.
    pub fn json(&self) -> serde_json::Value {
        let value: serde_json::Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not one JSON value ({error}): {self:?}"));
        assert!(value.is_object(), "stdout is not a JSON object: {self:?}");
        assert_eq!(
            self.stdout.trim_end().lines().count(),
            1,
            "the JSON object is not on one line: {self:?}"
        );
        value
    }
}
