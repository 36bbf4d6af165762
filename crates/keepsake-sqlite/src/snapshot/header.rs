//! The fields of SQLite's database header (the first 100 bytes of page 1,
//! big-endian) that a snapshot reads and a restore checks, and the free list
//! they point to.

use keepsake::error::{Error, Result};

/// Offsets in page 1: the page size (2 bytes, 1 meaning 65536), the file
/// change counter, the in-header database size in pages, the first free-list
/// trunk page, the number of free-list pages, and the "version-valid-for"
/// number that says whether the in-header size can be trusted.
const PAGE_SIZE_AT: usize = 16;
const CHANGE_COUNTER_AT: usize = 24;
const DATABASE_PAGES_AT: usize = 28;
const FREELIST_TRUNK_AT: usize = 32;
const FREELIST_COUNT_AT: usize = 36;
const VERSION_VALID_FOR_AT: usize = 92;

/// The header is the first 100 bytes of page 1.
const HEADER_LEN: usize = 100;

/// Big-endian `u32` at `at`, if `bytes` holds it.
pub(super) fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The header fields of a database's page 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DatabaseHeader {
    pub(super) page_size: u32,
    /// The database's size in pages, when the header's own copy of it is
    /// valid: not zero, and written by the same change as the change counter
    /// (SQLite 3.7.0 and later always keep it so).
    pub(super) database_pages: Option<u32>,
    pub(super) freelist_trunk: u32,
    pub(super) freelist_pages: u32,
}

impl DatabaseHeader {
    /// Reads the header of `page` (page 1); `None` when it is not a database header.
    pub(super) fn parse(page: &[u8]) -> Option<DatabaseHeader> {
        if page.len() < HEADER_LEN || !page.starts_with(b"SQLite format 3\0") {
            return None;
        }
        let page_size = match u16::from_be_bytes([page[PAGE_SIZE_AT], page[PAGE_SIZE_AT + 1]]) {
            1 => 65_536,
            size => u32::from(size),
        };
        let stored_pages = be32(page, DATABASE_PAGES_AT)?;
        let valid = stored_pages != 0
            && be32(page, CHANGE_COUNTER_AT)? == be32(page, VERSION_VALID_FOR_AT)?;
        Some(DatabaseHeader {
            page_size,
            database_pages: valid.then_some(stored_pages),
            freelist_trunk: be32(page, FREELIST_TRUNK_AT)?,
            freelist_pages: be32(page, FREELIST_COUNT_AT)?,
        })
    }
}

/// Walks the free list from its first trunk page, reading pages with
/// `read_page`, and returns its leaf pages (unsorted) and how many trunk
/// pages it went through. The walk is bounded by `database_pages`, so a
/// damaged list cannot loop, and it must account for exactly
/// `header.freelist_pages` pages.
pub(super) fn walk_freelist(
    header: &DatabaseHeader,
    database_pages: u32,
    read_page: &mut dyn FnMut(u32) -> Result<Vec<u8>>,
) -> Result<(Vec<u32>, u32)> {
    let damaged = || Error::invalid("the database's free list is damaged");
    let mut trunk = header.freelist_trunk;
    let mut leaves = Vec::new();
    let mut trunks = 0u32;
    while trunk != 0 {
        trunks += 1;
        if trunk > database_pages || trunks > database_pages {
            return Err(damaged());
        }
        let page = read_page(trunk)?;
        let count = be32(&page, 4).ok_or_else(damaged)? as usize;
        for i in 0..count {
            let leaf = be32(&page, 8 + 4 * i).ok_or_else(damaged)?;
            if leaf == 0 || leaf > database_pages {
                return Err(damaged());
            }
            leaves.push(leaf);
        }
        trunk = be32(&page, 0).ok_or_else(damaged)?;
    }
    if u64::from(trunks) + leaves.len() as u64 != u64::from(header.freelist_pages) {
        return Err(damaged());
    }
    Ok((leaves, trunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(page_size: u16, counter: u32, pages: u32, valid_for: u32) -> Vec<u8> {
        let mut page = vec![0u8; 4096];
        page[..16].copy_from_slice(b"SQLite format 3\0");
        page[PAGE_SIZE_AT..PAGE_SIZE_AT + 2].copy_from_slice(&page_size.to_be_bytes());
        page[CHANGE_COUNTER_AT..CHANGE_COUNTER_AT + 4].copy_from_slice(&counter.to_be_bytes());
        page[DATABASE_PAGES_AT..DATABASE_PAGES_AT + 4].copy_from_slice(&pages.to_be_bytes());
        page[VERSION_VALID_FOR_AT..VERSION_VALID_FOR_AT + 4]
            .copy_from_slice(&valid_for.to_be_bytes());
        page
    }

    #[test]
    fn the_in_header_size_counts_only_when_valid() {
        let valid = DatabaseHeader::parse(&header(4096, 7, 12, 7)).unwrap();
        assert_eq!((valid.page_size, valid.database_pages), (4096, Some(12)));
        assert_eq!(
            DatabaseHeader::parse(&header(4096, 7, 12, 6))
                .unwrap()
                .database_pages,
            None
        );
        assert_eq!(
            DatabaseHeader::parse(&header(4096, 7, 0, 7))
                .unwrap()
                .database_pages,
            None
        );
        assert_eq!(
            DatabaseHeader::parse(&header(1, 1, 1, 1))
                .unwrap()
                .page_size,
            65_536
        );
        assert_eq!(DatabaseHeader::parse(&[0u8; 4096]), None);
        assert_eq!(DatabaseHeader::parse(b"SQLite format 3\0"), None);
    }
}
