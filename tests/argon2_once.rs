//! A command opens a passphrase archive's header once: the summary read for
//! progress totals and the full read share the recovered file key, so
//! Argon2id runs once per passphrase slot tried, not twice (spec §4.5.1).
//! Counted through the codec's per-thread test hook, not timed.

use keepsake::crypto::slots::argon2_runs_on_this_thread;
use keepsake::{Argon2Params, Passphrase, Recipient, Selection};
use keepsake_sqlite::sample::{SampleOptions, write_sample};
use keepsake_sqlite::{CreateOptions, create_archive};

fn passphrase() -> Passphrase {
    Passphrase::new("a passphrase nobody will guess").unwrap()
}

/// Runs `f` and returns how many Argon2id computations it made on this thread.
fn argon2_runs<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = argon2_runs_on_this_thread();
    let out = f();
    (out, argon2_runs_on_this_thread() - before)
}

#[test]
fn verify_import_and_partial_import_run_argon2_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("source.db");
    write_sample(
        &db,
        &SampleOptions {
            messages: 50,
            ..SampleOptions::default()
        },
    )
    .unwrap();
    let archive = dir.path().join("a.keepsake");
    let recipient = Recipient::passphrase(passphrase(), Argon2Params::MINIMUM);
    create_archive(&db, &archive, &[recipient], &CreateOptions::default()).unwrap();
    let identities = [passphrase().into()];

    let (report, runs) = argon2_runs(|| keepsake_sqlite::verify_archive(&archive, &identities));
    report.unwrap();
    assert_eq!(runs, 1, "verify");

    let (report, runs) = argon2_runs(|| {
        keepsake_sqlite::import_archive(&archive, &identities, &dir.path().join("one.db"))
    });
    report.unwrap();
    assert_eq!(runs, 1, "import");

    let selection = Selection {
        since: Some(0),
        ..Selection::default()
    };
    let (report, runs) = argon2_runs(|| {
        keepsake_sqlite::import_selected(
            &archive,
            &identities,
            &dir.path().join("two.db"),
            &selection,
            &keepsake_sqlite::ImportOptions::default(),
        )
    });
    report.unwrap();
    assert_eq!(runs, 1, "partial import");

    // A wrong passphrase fails once, after one computation per slot.
    let wrong = [Passphrase::new("not it").unwrap().into()];
    for (what, runs) in [
        (
            "verify",
            argon2_runs(|| keepsake_sqlite::verify_archive(&archive, &wrong)).1,
        ),
        (
            "import",
            argon2_runs(|| {
                let db = dir.path().join("three.db");
                assert!(matches!(
                    keepsake_sqlite::import_archive(&archive, &wrong, &db),
                    Err(keepsake::Error::WrongKey)
                ));
            })
            .1,
        ),
    ] {
        assert_eq!(runs, 1, "{what} with a wrong passphrase");
    }
}

#[test]
fn restore_runs_argon2_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("source.db");
    write_sample(
        &db,
        &SampleOptions {
            messages: 20,
            ..SampleOptions::default()
        },
    )
    .unwrap();
    let archive = dir.path().join("pages.keepsake");
    let recipient = Recipient::passphrase(passphrase(), Argon2Params::MINIMUM);
    keepsake_sqlite::create_page_archive(
        &db,
        &archive,
        &[recipient],
        &keepsake_sqlite::PageArchiveOptions::default(),
    )
    .unwrap();
    let (report, runs) = argon2_runs(|| {
        keepsake_sqlite::restore_database(
            &archive,
            &[passphrase().into()],
            &dir.path().join("restored.db"),
            &keepsake_sqlite::RestoreOptions::default(),
        )
    });
    let report = report.unwrap();
    assert_eq!(runs, 1, "restore");
    assert_eq!(report.opened_with, keepsake::OpenedWith::Passphrase);
}
