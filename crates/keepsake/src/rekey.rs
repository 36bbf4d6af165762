//! Rekeying (spec §4.6, §11.3): a copy of an archive under a fresh file key
//! and salt, for the recipients the caller names. Unlike removing a slot,
//! this revokes: a key that opened the old archive opens nothing of the new
//! one, and the old file key decrypts none of it.
//!
//! The source is read with the full verification of spec §7.1 and every
//! record or page is written again by the normal writer; the signature is
//! made anew only with a signing key (a copied one would not verify: scheme 2
//! binds the file key).

#[cfg(feature = "fs")]
use std::fs::File;
#[cfg(feature = "fs")]
use std::io::BufReader;
use std::io::{Read, Write};
#[cfg(feature = "fs")]
use std::path::Path;

#[cfg(feature = "fs")]
use crate::atomic::write_new_file;
use crate::body::salvage_record::SalvageRecord;
use crate::crypto::signature::{SignatureStatus, SigningKey};
use crate::crypto::{Identity, Recipient};
use crate::error::{Error, Result};
use crate::format::{ChunkKind, Trailer};
use crate::limits::Limits;
use crate::stream::reader::{ArchiveReader, Item};
use crate::stream::writer::{ArchiveWriter, WriterOptions};

/// What [`rekey`] copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RekeyReport {
    /// The new archive's trailer: its counts, and its signature block.
    pub trailer: Trailer,
    /// What the source's signature block said. It is not carried over.
    pub source_signature: SignatureStatus,
    /// Whether the source was a salvage's output, whose salvage record was
    /// copied (spec §6.7).
    pub salvage_record_copied: bool,
}

/// Copies the archive read from `source`, which one of `identities` opens,
/// to `sink` under a fresh file key and salt with one slot per recipient,
/// signed with `signing_key` if one is given. The metadata is copied as it
/// is (the content is the same); so is a salvage record. Other ignorable
/// chunks are not, and the writer makes its own seek index.
///
/// Records reach the sink before the source's trailer is checked: on any
/// error the caller must discard what was written ([`rekey_archive`] does).
pub fn rekey<R: Read, W: Write>(
    source: R,
    identities: &[Identity],
    recipients: &[Recipient],
    signing_key: Option<&SigningKey>,
    sink: W,
) -> Result<(W, RekeyReport)> {
    let mut reader = ArchiveReader::new(source, identities, Limits::default())?;
    let prelude = reader.header().prelude.clone();
    let options = WriterOptions {
        // The source's chunk size, so that every record it could hold fits.
        chunk_size: prelude.max_chunk_size,
        signing_key: signing_key.cloned(),
        ..WriterOptions::default()
    };
    if options.max_record_size() < prelude.max_record_size {
        return Err(Error::invalid(format!(
            "the archive declares records of up to {} bytes in chunks of {}, which this writer cannot declare again",
            prelude.max_record_size, prelude.max_chunk_size
        )));
    }
    let mut writer = ArchiveWriter::new(sink, recipients, &reader.metadata().clone(), &options)?;
    let mut salvage = SalvageCopy::default();
    let mut geometry_set = false;
    while let Some(item) = reader.next_item()? {
        salvage.copy(&reader, &mut writer)?;
        match item {
            Item::Records(records) => {
                for record in &records {
                    writer.write_record(record)?;
                }
            }
            Item::Pages(batch) => {
                if !geometry_set {
                    writer.set_page_geometry(batch.page_size, batch.database_pages)?;
                    geometry_set = true;
                }
                for page in &batch.pages {
                    writer.write_page(page.number, &page.data)?;
                }
            }
        }
    }
    salvage.copy(&reader, &mut writer)?;
    let source_trailer = reader
        .trailer()
        .ok_or_else(|| Error::invalid("the reader ended without a trailer"))?;
    let source_signature = reader.header().signature_status(source_trailer);
    let (sink, trailer) = writer.finish()?;
    Ok((
        sink,
        RekeyReport {
            trailer,
            source_signature,
            salvage_record_copied: salvage.copied,
        },
    ))
}

/// Carries a salvage record over, as chunk 1 of the copy, once the reader has
/// seen chunk 1 of the source.
#[derive(Default)]
struct SalvageCopy {
    copied: bool,
}

impl SalvageCopy {
    fn copy<R: Read, W: Write>(
        &mut self,
        reader: &ArchiveReader<R>,
        writer: &mut ArchiveWriter<W>,
    ) -> Result<()> {
        if self.copied {
            return Ok(());
        }
        match reader.salvage_record() {
            None => Ok(()),
            Some(Some(record)) => {
                writer.write_chunk(ChunkKind::SALVAGE, SalvageRecord::encode(record)?)?;
                self.copied = true;
                Ok(())
            }
            Some(None) => Err(Error::invalid(
                "the archive's salvage record does not decode, and a copy without it would hide that the archive was salvaged",
            )),
        }
    }
}

/// [`rekey`] from the archive at `archive` to a new file at `out`, which
/// must not exist: written under a temporary name and renamed only once the
/// source has verified completely and the copy is complete. On any error
/// nothing is left under `out`.
#[cfg(feature = "fs")]
pub fn rekey_archive(
    archive: &Path,
    identities: &[Identity],
    out: &Path,
    recipients: &[Recipient],
    signing_key: Option<&SigningKey>,
) -> Result<RekeyReport> {
    let source = BufReader::with_capacity(1 << 16, File::open(archive)?);
    write_new_file(out, |sink| {
        Ok(rekey(source, identities, recipients, signing_key, sink)?.1)
    })
}
