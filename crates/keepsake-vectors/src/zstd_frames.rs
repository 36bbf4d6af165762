//! Hand-made zstd frames, for the vectors that test a reader's bounds on
//! declared sizes and windows (spec §5.4).

pub(crate) const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// How a hand-written zstd frame states its window.
#[derive(Clone, Copy)]
pub(crate) enum ZstdWindow {
    /// Single segment: a 4-byte `Frame_Content_Size` equal to the body's
    /// length (or the given value), and no window descriptor.
    ContentSize(Option<u32>),
    /// A window descriptor byte and no content size.
    Descriptor(u8),
}

/// A block header: last-block flag, type (0 raw, 1 RLE), size.
pub(crate) fn zstd_block_header(last: bool, block_type: u32, size: usize) -> [u8; 3] {
    let value = u32::from(last) | block_type << 1 | (size as u32) << 3;
    let bytes = value.to_le_bytes();
    [bytes[0], bytes[1], bytes[2]]
}

/// A zstd frame header for `window`, optionally naming a dictionary.
pub(crate) fn zstd_frame_header(
    window: ZstdWindow,
    content_len: usize,
    dictionary: Option<u8>,
) -> Vec<u8> {
    let dictionary_flag = u8::from(dictionary.is_some());
    let mut out = ZSTD_MAGIC.to_vec();
    match window {
        ZstdWindow::ContentSize(declared) => {
            // Frame_Content_Size_flag 2 (four bytes), Single_Segment_flag set.
            out.push(0x80 | 0x20 | dictionary_flag);
            out.extend(dictionary);
            let declared = declared.unwrap_or(content_len as u32);
            out.extend_from_slice(&declared.to_le_bytes());
        }
        ZstdWindow::Descriptor(descriptor) => {
            out.push(dictionary_flag);
            out.push(descriptor);
            out.extend(dictionary);
        }
    }
    out
}

/// One zstd frame holding `body` as raw blocks of at most `block` bytes.
pub(crate) fn zstd_raw(
    body: &[u8],
    window: ZstdWindow,
    dictionary: Option<u8>,
    block: usize,
) -> Vec<u8> {
    let mut out = zstd_frame_header(window, body.len(), dictionary);
    let pieces: Vec<&[u8]> = if body.is_empty() {
        vec![&[]]
    } else {
        body.chunks(block).collect()
    };
    for (i, piece) in pieces.iter().enumerate() {
        out.extend(zstd_block_header(i + 1 == pieces.len(), 0, piece.len()));
        out.extend_from_slice(piece);
    }
    out
}

/// One zstd frame with no content size and a 4096-byte window, holding RLE
/// blocks (each one byte of input) of the given sizes: spaces.
pub(crate) fn zstd_rle(blocks: &[usize]) -> Vec<u8> {
    let mut out = zstd_frame_header(ZstdWindow::Descriptor(WINDOW_4096), 0, None);
    for (i, &size) in blocks.iter().enumerate() {
        out.extend(zstd_block_header(i + 1 == blocks.len(), 1, size));
        out.push(b' ');
    }
    out
}

/// Window descriptor bytes: `Window_Size = 2^(10 + exponent) * (1 + mantissa / 8)`.
pub(crate) const WINDOW_4096: u8 = 2 << 3;
pub(crate) const WINDOW_4608: u8 = 2 << 3 | 1;

pub(crate) fn zstd_compress(body: &[u8], level: i32) -> Vec<u8> {
    zstd::bulk::compress(body, level).expect("zstd compresses")
}

// Sample records.
