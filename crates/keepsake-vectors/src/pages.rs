//! Page-mode vectors (spec §6.4): one valid snapshot of a tiny SQLite
//! database, built by hand byte for byte so that it never depends on the
//! SQLite version, and one vector per page-batch rule.

use super::*;

/// The page size of the vectors' database.
pub const PAGE_SIZE: u32 = 512;
/// The vectors' database size in pages: schema, table, free-list trunk, free-list leaf.
pub const DATABASE_PAGES: u32 = 4;
/// The rows of table `t(x)` in the vectors' database, rowids 1, 2, 3.
pub const ROWS: [&str; 3] = ["row 1", "row 2", "row 3"];

/// A table-leaf b-tree page holding `cells` (payloads, by rowid 1, 2, …)
/// packed at the end of the page, its header at `header_at`.
fn table_leaf(page: &mut [u8], header_at: usize, cells: &[Vec<u8>]) {
    let mut content = page.len();
    let mut pointers = Vec::new();
    for (i, payload) in cells.iter().enumerate() {
        // Payload length and rowid varints: single bytes at these sizes.
        let mut cell = vec![payload.len() as u8, i as u8 + 1];
        cell.extend_from_slice(payload);
        content -= cell.len();
        page[content..content + cell.len()].copy_from_slice(&cell);
        pointers.push(content as u16);
    }
    page[header_at] = 0x0D;
    page[header_at + 3..header_at + 5].copy_from_slice(&(cells.len() as u16).to_be_bytes());
    page[header_at + 5..header_at + 7].copy_from_slice(&(content as u16).to_be_bytes());
    for (i, pointer) in pointers.iter().enumerate() {
        let at = header_at + 8 + 2 * i;
        page[at..at + 2].copy_from_slice(&pointer.to_be_bytes());
    }
}

/// A record of text values and one small integer, as SQLite encodes rows.
fn sqlite_record(values: &[Result<&str, u8>]) -> Vec<u8> {
    let mut header = Vec::new();
    let mut body = Vec::new();
    for value in values {
        match value {
            Ok(text) => {
                header.push((13 + 2 * text.len()) as u8);
                body.extend_from_slice(text.as_bytes());
            }
            Err(integer) => {
                header.push(1);
                body.push(*integer);
            }
        }
    }
    let mut out = vec![header.len() as u8 + 1];
    out.extend(header);
    out.extend(body);
    out
}

/// The four pages of a SQLite database (page size 512, rollback journal)
/// holding `CREATE TABLE t(x)` with the rows of [`ROWS`], and a free list of
/// one trunk page (3) listing one leaf page (4).
pub fn database_pages() -> Vec<Vec<u8>> {
    let size = PAGE_SIZE as usize;
    let mut first = vec![0u8; size];
    first[..16].copy_from_slice(b"SQLite format 3\0");
    first[16..18].copy_from_slice(&(PAGE_SIZE as u16).to_be_bytes());
    first[18] = 1; // write version: rollback journal
    first[19] = 1; // read version
    first[21] = 64;
    first[22] = 32;
    first[23] = 32;
    first[24..28].copy_from_slice(&1u32.to_be_bytes()); // change counter
    first[28..32].copy_from_slice(&DATABASE_PAGES.to_be_bytes());
    first[32..36].copy_from_slice(&3u32.to_be_bytes()); // first free-list trunk
    first[36..40].copy_from_slice(&2u32.to_be_bytes()); // free-list pages
    first[40..44].copy_from_slice(&1u32.to_be_bytes()); // schema cookie
    first[44..48].copy_from_slice(&4u32.to_be_bytes()); // schema format
    first[56..60].copy_from_slice(&1u32.to_be_bytes()); // UTF-8
    first[92..96].copy_from_slice(&1u32.to_be_bytes()); // version-valid-for
    first[96..100].copy_from_slice(&3_045_000u32.to_be_bytes());
    let schema = sqlite_record(&[
        Ok("table"),
        Ok("t"),
        Ok("t"),
        Err(2),
        Ok("CREATE TABLE t(x)"),
    ]);
    table_leaf(&mut first, 100, &[schema]);

    let mut table = vec![0u8; size];
    let rows: Vec<Vec<u8>> = ROWS.iter().map(|row| sqlite_record(&[Ok(row)])).collect();
    table_leaf(&mut table, 0, &rows);

    let mut trunk = vec![0u8; size];
    trunk[4..8].copy_from_slice(&1u32.to_be_bytes());
    trunk[8..12].copy_from_slice(&4u32.to_be_bytes());

    let leaf = vec![0xA5; size];
    vec![first, table, trunk, leaf]
}

/// A page batch body as given, valid or not.
fn raw_pages(page_size: u32, database_pages: u32, entries: &[(u32, &[u8])]) -> Vec<u8> {
    let mut body = page_size.to_le_bytes().to_vec();
    body.extend_from_slice(&database_pages.to_le_bytes());
    for (number, content) in entries {
        body.extend_from_slice(&number.to_le_bytes());
        body.extend_from_slice(content);
    }
    body
}

fn pages_metadata() -> ArchiveMetadata {
    ArchiveMetadata {
        mode: ArchiveMode::Pages,
        ..metadata()
    }
}

impl Build {
    /// A page batch chunk, its pages counted in the trailer.
    fn page_batch(&mut self, body: Vec<u8>, pages: u64) {
        self.writer.tally_mut().add_pages(pages);
        self.chunk(ChunkKind::PAGES, body);
    }
}

/// A pages archive of the vectors' database whose page batches `batches`
/// makes from its pages (the free-list leaf 4 left out).
fn pages_archive(name: &str, batches: impl FnOnce(&[Vec<u8>]) -> Vec<(Vec<u8>, u64)>) -> Built {
    let mut build = Build::with_metadata(name, &[KEY], &small(), pages_metadata());
    for (body, pages) in batches(&database_pages()) {
        build.page_batch(body, pages);
    }
    build.finish()
}

fn good_first(pages: &[Vec<u8>]) -> (Vec<u8>, u64) {
    (
        raw_pages(PAGE_SIZE, DATABASE_PAGES, &[(1, &pages[0]), (2, &pages[1])]),
        2,
    )
}

fn good_second(pages: &[Vec<u8>]) -> (Vec<u8>, u64) {
    (raw_pages(PAGE_SIZE, DATABASE_PAGES, &[(3, &pages[2])]), 1)
}

pub(super) fn page_vectors(out: &mut Vec<Vector>) {
    out.push(
        pages_archive("pages-snapshot", |pages| {
            vec![good_first(pages), good_second(pages)]
        })
        .success(
            "a pages archive of a hand-built 4-page SQLite database (page size 512: the schema, \
             table t(x) with rows 'row 1', 'row 2', 'row 3', a free-list trunk page and a \
             free-list leaf left out): pages 1-2 in chunk 1, page 3 in chunk 2",
        ),
    );

    let at = |chunk: u64| Outcome::ChunkFailure { chunk };
    type Batches = fn(&[Vec<u8>]) -> Vec<(Vec<u8>, u64)>;
    let cases: [(&str, &str, Batches, u64); 12] = [
        (
            "pages-batch-one-byte-long",
            "chunk 2, a page batch, has one byte more than 8 + 1 x (4 + 512)",
            |p| {
                let (mut body, n) = good_second(p);
                body.push(0);
                vec![good_first(p), (body, n)]
            },
            2,
        ),
        (
            "pages-batch-no-entry",
            "chunk 2, a page batch, holds only its 8-byte fixed part and no entry",
            |p| {
                vec![
                    good_first(p),
                    (raw_pages(PAGE_SIZE, DATABASE_PAGES, &[]), 0),
                ]
            },
            2,
        ),
        (
            "pages-page-size-not-power-of-two",
            "chunk 1 declares page size 768 and holds two entries of 768 bytes",
            |p| {
                let a = [p[0].clone(), vec![0; 256]].concat();
                let b = [p[1].clone(), vec![0; 256]].concat();
                vec![(raw_pages(768, DATABASE_PAGES, &[(1, &a), (2, &b)]), 2)]
            },
            1,
        ),
        (
            "pages-database-pages-zero",
            "chunk 1, the first page batch, declares a database of 0 pages",
            |p| vec![(raw_pages(PAGE_SIZE, 0, &[(1, &p[0])]), 1)],
            1,
        ),
        (
            "pages-duplicate-in-batch",
            "chunk 1 holds pages 1, 2, 2: page numbers do not strictly ascend",
            |p| {
                vec![(
                    raw_pages(
                        PAGE_SIZE,
                        DATABASE_PAGES,
                        &[(1, &p[0]), (2, &p[1]), (2, &p[1])],
                    ),
                    3,
                )]
            },
            1,
        ),
        (
            "pages-not-ascending-across-batches",
            "chunk 1 holds pages 1, 2 and chunk 2 holds page 2 again",
            |p| {
                vec![
                    good_first(p),
                    (raw_pages(PAGE_SIZE, DATABASE_PAGES, &[(2, &p[1])]), 1),
                ]
            },
            2,
        ),
        (
            "pages-page-zero",
            "chunk 2 holds page number 0",
            |p| {
                vec![
                    good_first(p),
                    (raw_pages(PAGE_SIZE, DATABASE_PAGES, &[(0, &p[2])]), 1),
                ]
            },
            2,
        ),
        (
            "pages-page-past-database",
            "chunk 2 holds page 5 of a database of 4 pages",
            |p| {
                vec![
                    good_first(p),
                    (raw_pages(PAGE_SIZE, DATABASE_PAGES, &[(5, &p[2])]), 1),
                ]
            },
            2,
        ),
        (
            "pages-first-page-missing",
            "chunk 1, the first page batch, begins with page 2: page 1 is missing",
            |p| {
                vec![(
                    raw_pages(PAGE_SIZE, DATABASE_PAGES, &[(2, &p[1]), (3, &p[2])]),
                    2,
                )]
            },
            1,
        ),
        (
            "pages-page-size-differs",
            "chunk 2 declares page size 1024 (with a 1024-byte page 3) after chunk 1's 512",
            |p| {
                let big = [p[2].clone(), vec![0; 512]].concat();
                vec![
                    good_first(p),
                    (raw_pages(1024, DATABASE_PAGES, &[(3, &big)]), 1),
                ]
            },
            2,
        ),
        (
            "pages-database-pages-differs",
            "chunk 2 declares a database of 5 pages after chunk 1's 4",
            |p| vec![good_first(p), (raw_pages(PAGE_SIZE, 5, &[(3, &p[2])]), 1)],
            2,
        ),
        (
            "pages-archive-without-pages",
            "an archive of mode pages whose trailer (chunk 1) follows the metadata directly",
            |_| Vec::new(),
            1,
        ),
    ];
    for (name, description, batches, chunk) in cases {
        out.push(pages_archive(name, batches).fails_at(0, description, at(chunk)));
    }

    let mut build = Build::with_metadata(
        "pages-trailer-wrong-pages",
        &[KEY],
        &small(),
        pages_metadata(),
    );
    let pages = database_pages();
    for (body, count) in [good_first(&pages), good_second(&pages)] {
        build.page_batch(body, count);
    }
    out.push(build.finish_with(|t| t.pages += 1).fails_at(
        0,
        "the trailer (chunk 3) counts 4 pages where the batches hold 3",
        at(3),
    ));

    let records = base_batches();
    let mut build = Build::with_metadata(
        "record-batch-in-pages-archive",
        &[KEY],
        &small(),
        pages_metadata(),
    );
    let (body, count) = good_first(&pages);
    build.page_batch(body, count);
    build.chunk(ChunkKind::RECORDS, batch_body(&records[0]));
    out.push(build.finish().fails_at(
        0,
        "chunk 2 is a valid record batch in an archive of mode pages",
        at(2),
    ));
}
