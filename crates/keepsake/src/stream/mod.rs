//! Reading and writing archives in one pass (spec §7, §8): the sans-I/O
//! [`decoder`], the blocking [`reader`] over any `Read`, the [`writer`] over
//! any `Write`, and the worker pool that seals and opens chunks in parallel.

pub mod decoder;
pub(crate) mod pipeline;
pub mod reader;
pub mod writer;
