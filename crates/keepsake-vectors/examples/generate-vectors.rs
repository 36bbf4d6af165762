//! Writes the published test vectors: `cargo run --example generate-vectors -- test-vectors`.
//!
//! The output depends only on the vector definitions in the library and the
//! zstd version linked: running it again gives the same bytes.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: generate-vectors DIRECTORY");
        return ExitCode::FAILURE;
    };
    let vectors = keepsake_vectors::all();
    match keepsake_vectors::publish(&vectors, &dir) {
        Ok(files) => {
            println!(
                "wrote {} vectors ({files} files) to {}",
                vectors.len(),
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("cannot write the vectors to {}: {error}", dir.display());
            ExitCode::FAILURE
        }
    }
}
