//! What frames carry (spec §5.4, §6): per-chunk compression, the metadata
//! and record batches, SQLite page batches, the seek index, the salvage
//! record, and the counts and digest the trailer commits to.

pub(crate) mod canonical;
pub mod compress;
pub mod content;
pub mod index;
pub mod pages;
pub mod records;
pub mod salvage_record;
