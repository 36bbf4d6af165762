//! SQLite page batches (spec §6.4): the body of a kind 0x03 chunk, which
//! carries database pages verbatim for a whole-database snapshot.
//!
//! The codec does not interpret page content; it only checks the framing and
//! the numbering rules, within one batch ([`decode_batch`]) and across the
//! batches of one archive ([`PageSequence`]).

use crate::error::{Error, Result};
use crate::format::page_batch::{
    DATABASE_PAGES_AT, FIXED_LEN, MAX_PAGE_SIZE, MIN_PAGE_SIZE, PAGE_NUMBER_LEN, PAGE_SIZE_AT,
};

/// One database page.
#[derive(Clone, PartialEq, Eq)]
pub struct Page {
    /// The page number: 1 for the first page of the database file.
    pub number: u32,
    /// The page's content, `page_size` bytes.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Page content is the user's data: a count of bytes says enough.
        f.debug_struct("Page")
            .field("number", &self.number)
            .field("bytes", &self.data.len())
            .finish()
    }
}

/// A decoded page batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageBatch {
    /// The database's page size, the same in every batch of an archive.
    pub page_size: u32,
    /// The database's size in pages at the snapshot.
    pub database_pages: u32,
    /// The pages, in strictly ascending page number order.
    pub pages: Vec<Page>,
}

/// Whether SQLite can use `page_size`: a power of two from 512 to 65536.
pub fn is_valid_page_size(page_size: u32) -> bool {
    page_size.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page_size)
}

/// The length of a batch body holding `pages` pages of `page_size` bytes.
pub fn batch_len(page_size: u32, pages: usize) -> usize {
    FIXED_LEN + pages * (PAGE_NUMBER_LEN + page_size as usize)
}

/// Decodes the body of the page batch in chunk `chunk`, checking its length
/// and that its page numbers ascend within `1..=database_pages`. The pages'
/// bytes are copied out of `body`: nothing larger than the body is allocated.
pub fn decode_batch(body: &[u8], chunk: u64) -> Result<PageBatch> {
    if body.len() < FIXED_LEN {
        return Err(Error::corrupt(
            chunk,
            "a page batch is shorter than its fixed part",
        ));
    }
    let page_size = u32_at(body, PAGE_SIZE_AT);
    let database_pages = u32_at(body, DATABASE_PAGES_AT);
    if !is_valid_page_size(page_size) {
        return Err(Error::corrupt(
            chunk,
            format!("page size {page_size} is not a power of two from 512 to 65536"),
        ));
    }
    if database_pages == 0 {
        return Err(Error::corrupt(
            chunk,
            "a page batch declares a database of zero pages",
        ));
    }
    let entry_len = PAGE_NUMBER_LEN + page_size as usize;
    let entries = &body[FIXED_LEN..];
    if entries.is_empty() || !entries.len().is_multiple_of(entry_len) {
        return Err(Error::corrupt(
            chunk,
            format!(
                "a page batch of page size {page_size} is {} bytes long, not 8 plus a positive multiple of {entry_len}",
                body.len()
            ),
        ));
    }
    let mut pages = Vec::with_capacity(entries.len() / entry_len);
    let mut previous = 0;
    for entry in entries.chunks_exact(entry_len) {
        let number = u32_at(entry, 0);
        if number <= previous {
            return Err(Error::corrupt(
                chunk,
                "page numbers in a page batch do not strictly ascend",
            ));
        }
        if number > database_pages {
            return Err(Error::corrupt(
                chunk,
                format!("page {number} is past the database's {database_pages} pages"),
            ));
        }
        previous = number;
        pages.push(Page {
            number,
            data: entry[PAGE_NUMBER_LEN..].to_vec(),
        });
    }
    Ok(PageBatch {
        page_size,
        database_pages,
        pages,
    })
}

/// Encodes a page batch. Fails on what [`decode_batch`] would reject.
pub fn encode_batch(batch: &PageBatch) -> Result<Vec<u8>> {
    let mut builder = BatchBuilder::new(batch.page_size, batch.database_pages)?;
    for page in &batch.pages {
        builder.push(page.number, &page.data)?;
    }
    builder
        .take()
        .ok_or_else(|| Error::invalid("a page batch needs at least one page"))
}

/// Builds one page batch body at a time for a writer.
#[derive(Debug)]
pub struct BatchBuilder {
    page_size: u32,
    database_pages: u32,
    body: Vec<u8>,
    last: u32,
}

impl BatchBuilder {
    /// A builder for batches of pages of `page_size` bytes from a database of `database_pages` pages.
    pub fn new(page_size: u32, database_pages: u32) -> Result<Self> {
        if !is_valid_page_size(page_size) {
            return Err(Error::invalid(format!(
                "page size {page_size} is not a power of two from 512 to 65536"
            )));
        }
        if database_pages == 0 {
            return Err(Error::invalid("a database has at least one page"));
        }
        Ok(BatchBuilder {
            page_size,
            database_pages,
            body: Vec::new(),
            last: 0,
        })
    }

    /// The page size every page must have.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// Pages in the pending batch.
    pub fn pending(&self) -> usize {
        self.body.len().saturating_sub(FIXED_LEN) / (PAGE_NUMBER_LEN + self.page_size as usize)
    }

    /// Adds a page; numbers must ascend (across batches too) within the database.
    pub fn push(&mut self, number: u32, data: &[u8]) -> Result<()> {
        if data.len() != self.page_size as usize {
            return Err(Error::invalid(format!(
                "page {number} is {} bytes long, not the page size {}",
                data.len(),
                self.page_size
            )));
        }
        if number <= self.last || number > self.database_pages {
            return Err(Error::invalid(format!(
                "page {number} is out of order or past the database's {} pages",
                self.database_pages
            )));
        }
        if self.body.is_empty() {
            self.body.extend_from_slice(&self.page_size.to_le_bytes());
            self.body
                .extend_from_slice(&self.database_pages.to_le_bytes());
        }
        self.body.extend_from_slice(&number.to_le_bytes());
        self.body.extend_from_slice(data);
        self.last = number;
        Ok(())
    }

    /// The pending batch's body, if it holds any page; the builder starts a new one.
    pub fn take(&mut self) -> Option<Vec<u8>> {
        (!self.body.is_empty()).then(|| std::mem::take(&mut self.body))
    }
}

/// The rules that span the page batches of one archive (spec §6.4): one
/// geometry, page numbers ascending across batches, page 1 first.
#[derive(Debug, Default)]
pub(crate) struct PageSequence {
    geometry: Option<(u32, u32)>,
    last: u32,
}

impl PageSequence {
    /// Checks the batch read from chunk `chunk` against the batches before
    /// it.
    pub(crate) fn add(&mut self, batch: &PageBatch, chunk: u64) -> Result<()> {
        let geometry = (batch.page_size, batch.database_pages);
        match self.geometry {
            None => {
                if batch.pages.first().map(|page| page.number) != Some(1) {
                    return Err(Error::corrupt(
                        chunk,
                        "the first page batch does not begin with page 1",
                    ));
                }
                self.geometry = Some(geometry);
            }
            Some(first) if first != geometry => {
                return Err(Error::corrupt(
                    chunk,
                    "a page batch's page size or database size differs from the first batch's",
                ));
            }
            Some(_) => {}
        }
        if batch
            .pages
            .first()
            .is_some_and(|page| page.number <= self.last)
        {
            return Err(Error::corrupt(
                chunk,
                "page numbers do not strictly ascend across page batches",
            ));
        }
        if let Some(page) = batch.pages.last() {
            self.last = page.number;
        }
        Ok(())
    }

    /// Whether any page batch has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.geometry.is_none()
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn batch() -> impl Strategy<Value = PageBatch> {
        (9u32..=12, vec(any::<u32>(), 1..6), any::<u8>()).prop_map(|(shift, numbers, fill)| {
            let page_size = 1 << shift;
            let mut numbers: Vec<u32> = numbers.into_iter().map(|n| 1 + n % 1000).collect();
            numbers.sort_unstable();
            numbers.dedup();
            let database_pages = *numbers.last().unwrap() + u32::from(fill % 3);
            let pages = numbers
                .into_iter()
                .map(|number| Page {
                    number,
                    data: vec![fill ^ number as u8; page_size as usize],
                })
                .collect();
            PageBatch {
                page_size,
                database_pages,
                pages,
            }
        })
    }

    proptest! {
        #[test]
        fn batches_round_trip_byte_for_byte(batch in batch()) {
            let body = encode_batch(&batch).unwrap();
            prop_assert_eq!(body.len(), batch_len(batch.page_size, batch.pages.len()));
            let decoded = decode_batch(&body, 7).unwrap();
            prop_assert_eq!(encode_batch(&decoded).unwrap(), body);
            prop_assert_eq!(decoded, batch);
        }

        #[test]
        fn a_batch_of_the_wrong_length_is_corrupt(batch in batch(), cut in 1usize..600, grow in any::<bool>()) {
            let mut body = encode_batch(&batch).unwrap();
            // A whole entry more or less is another valid length.
            prop_assume!(!cut.is_multiple_of(PAGE_NUMBER_LEN + batch.page_size as usize));
            if grow {
                body.extend(std::iter::repeat_n(0, cut));
            } else {
                body.truncate(body.len().saturating_sub(cut));
            }
            let corrupt = matches!(decode_batch(&body, 7), Err(Error::Corrupt { chunk: 7, .. }));
            prop_assert!(corrupt);
        }

        #[test]
        fn non_canonical_numbering_is_corrupt(batch in batch(), which in any::<prop::sample::Index>(), number in prop_oneof![Just(0u32), Just(u32::MAX), any::<u32>()]) {
            let mut body = encode_batch(&batch).unwrap();
            let i = which.index(batch.pages.len());
            let at = FIXED_LEN + i * (PAGE_NUMBER_LEN + batch.page_size as usize);
            let previous = if i == 0 { 0 } else { batch.pages[i - 1].number };
            let next = batch.pages.get(i + 1).map_or(batch.database_pages + 1, |page| page.number);
            let valid = number > previous && number < next && number <= batch.database_pages;
            body[at..at + 4].copy_from_slice(&number.to_le_bytes());
            let result = decode_batch(&body, 7);
            if valid {
                prop_assert!(result.is_ok());
            } else {
                let corrupt = matches!(result, Err(Error::Corrupt { chunk: 7, .. }));
                prop_assert!(corrupt);
            }
        }

        #[test]
        fn arbitrary_bodies_never_panic(body in vec(any::<u8>(), 0..2000)) {
            let _ = decode_batch(&body, 0);
        }
    }

    #[test]
    fn page_sizes_are_checked() {
        for bad in [0, 256, 1000, 131072, u32::MAX] {
            let mut body = bad.to_le_bytes().to_vec();
            body.extend_from_slice(&1u32.to_le_bytes());
            body.extend_from_slice(&1u32.to_le_bytes());
            body.resize(8 + 4 + 512, 0);
            assert!(matches!(decode_batch(&body, 1), Err(Error::Corrupt { .. })));
        }
        let mut empty = 512u32.to_le_bytes().to_vec();
        empty.extend_from_slice(&1u32.to_le_bytes());
        assert!(matches!(
            decode_batch(&empty, 1),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn the_sequence_needs_page_one_first_and_one_geometry() {
        let batch = |page_size: u32, database_pages, numbers: &[u32]| PageBatch {
            page_size,
            database_pages,
            pages: numbers
                .iter()
                .map(|&number| Page {
                    number,
                    data: vec![0; page_size as usize],
                })
                .collect(),
        };
        let mut sequence = PageSequence::default();
        assert!(sequence.add(&batch(512, 9, &[2]), 1).is_err());
        let mut sequence = PageSequence::default();
        sequence.add(&batch(512, 9, &[1, 3]), 1).unwrap();
        assert!(sequence.add(&batch(512, 9, &[3]), 2).is_err());
        let mut sequence = PageSequence::default();
        sequence.add(&batch(512, 9, &[1, 3]), 1).unwrap();
        assert!(sequence.add(&batch(1024, 9, &[4]), 2).is_err());
        let mut sequence = PageSequence::default();
        sequence.add(&batch(512, 9, &[1, 3]), 1).unwrap();
        assert!(sequence.add(&batch(512, 10, &[4]), 2).is_err());
        let mut sequence = PageSequence::default();
        sequence.add(&batch(512, 9, &[1, 3]), 1).unwrap();
        sequence.add(&batch(512, 9, &[4, 9]), 2).unwrap();
    }
}
