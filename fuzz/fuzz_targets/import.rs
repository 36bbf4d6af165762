//! import_archive with key [7; 32] into a fresh database, of the input as it stands when it starts
//! with the archive magic's first byte, or else of the chunk description it seals (see
//! `seal_description`): no panic; a failed import leaves every table empty (it is atomic), and a
//! successful one stored exactly the rows its report counts.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use keepsake_fuzz::{is_archive, key, seal_description};
use keepsake_sqlite::{import_archive, open_database};
use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("keepsake-fuzz-import-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let archive = scratch().join("archive.ksk");
    let db = scratch().join("import.sqlite");
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let bytes = if is_archive(data) {
        data.to_vec()
    } else {
        seal_description(data)
    };
    std::fs::write(&archive, &bytes).expect("write the archive");

    let result = import_archive(&archive, &[key().into()], &db);

    let rows = if db.exists() {
        let conn = open_database(&db).expect("open the database after the import");
        let count = |table: &str| -> u64 {
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .expect("count rows")
        };
        [count("conversations"), count("messages"), count("consent")]
    } else {
        [0; 3]
    };
    match result {
        Ok(report) => {
            assert_eq!(rows[0], report.conversations.inserted);
            assert_eq!(rows[1], report.messages.inserted);
            // A newer decision for the same entity replaces a row and is counted again.
            assert!(rows[2] <= report.consent.inserted);
            assert_eq!(rows[2] == 0, report.consent.inserted == 0);
        }
        Err(error) => assert_eq!(rows, [0; 3], "a failed import ({error:?}) left rows behind"),
    }
});
