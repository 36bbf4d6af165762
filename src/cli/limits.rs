//! `--max-chunk-size`: how far a command that reads an archive raises the
//! limits it reads under (spec §9).

use clap::Args;

use keepsake::Limits;

/// The reader's limits, on the command line of every command that reads an
/// archive's chunks.
#[derive(Clone, Copy, Debug, Default, Args)]
pub struct ReaderLimitsArgs {
    /// Accept chunks of up to BYTES (or with a KiB, MiB or GiB suffix) before
    /// compression, and the records and decoded batches a writer puts in them
    /// [default: 4MiB]. Needed only for archives made with `create
    /// --chunk-size` above 4MiB; raise it only for archives you trust, since
    /// the memory a read takes grows with it.
    #[arg(long, value_name = "BYTES", value_parser = super::units::parse_reader_chunk_size)]
    pub max_chunk_size: Option<u32>,
}

impl ReaderLimitsArgs {
    /// The limits to read with.
    pub fn limits(&self) -> Limits {
        self.max_chunk_size
            .map_or_else(Limits::default, Limits::for_chunk_size)
    }
}
