//! The committed header is exactly what cbindgen generates from the crate.
//! `UPDATE_HEADER=1 cargo test -p keepsake-ffi --test header` rewrites it.

use std::path::PathBuf;

#[test]
fn the_committed_header_matches_the_code() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = dir.join("include/keepsake.h");
    if std::env::var_os("UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("header written");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/keepsake.h is stale: run UPDATE_HEADER=1 cargo test -p keepsake-ffi --test header"
    );
}
