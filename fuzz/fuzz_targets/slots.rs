//! Opening headers whose key slots are damaged or hostile: a real archive with
//! a raw-key, a passphrase (minimum Argon2 costs) and an X25519 slot has
//! bytes of its slot bodies changed and slots of any kind and length added,
//! then is read with an identity of every type. No panic, no hang; the
//! unchanged archive opens with each identity alone.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use keepsake::format::{Header, HeaderLen, SlotEntry};
use keepsake::{
    ArchiveKey, ArchiveMetadata, ArchiveReader, ArchiveWriter, Argon2Params, Identity, Limits,
    Passphrase, Recipient, SigningKey, WriterOptions, X25519Identity,
};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;

#[derive(Debug, Arbitrary)]
struct Input {
    /// (slot index, byte offset, xor mask) applied to existing slot bodies.
    flips: Vec<(u8, u8, u8)>,
    /// Slots appended: kind (low bits pick 1, 2, 3 or any), name, body.
    extra: Vec<(u16, String, Vec<u8>)>,
    /// Overwrite the passphrase slot's costs with these.
    costs: Option<(u32, u32, u32)>,
    /// Reorder: rotate the slot table by this much.
    rotate: u8,
}

struct Base {
    bytes: Vec<u8>,
    header_len: usize,
    identities: Vec<Identity>,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let raw = ArchiveKey::from_bytes([1; 32]);
        let passphrase = Passphrase::new("fuzz").unwrap();
        let x25519 = X25519Identity::generate_with(&mut rng);
        let recipients = [
            Recipient::raw_key(raw.clone()),
            Recipient::passphrase(passphrase.clone(), Argon2Params::MINIMUM),
            Recipient::x25519(x25519.recipient()).named("x"),
        ];
        let options = WriterOptions {
            threads: 1,
            signing_key: Some(SigningKey::from_bytes([2; 32])),
            ..WriterOptions::default()
        };
        let writer = ArchiveWriter::with_rng(
            Vec::new(),
            &recipients,
            &ArchiveMetadata::now(),
            &options,
            &mut rng,
        )
        .unwrap();
        let bytes = writer.finish().unwrap().0;
        let Ok(HeaderLen::Exactly(header_len)) = Header::measure(&bytes) else {
            unreachable!()
        };
        let identities: Vec<Identity> = vec![raw.into(), passphrase.into(), x25519.into()];
        for identity in &identities {
            assert!(read(&bytes, std::slice::from_ref(identity)).is_ok());
        }
        Base {
            bytes,
            header_len,
            identities,
        }
    })
}

fn read(bytes: &[u8], identities: &[Identity]) -> keepsake::Result<()> {
    let mut reader = ArchiveReader::new(bytes, identities, Limits::default())?;
    while reader.next_batch()?.is_some() {}
    Ok(())
}

fuzz_target!(|input: Input| {
    let base = base();
    let mut header = Header::parse(&base.bytes[..base.header_len]).unwrap();
    for (slot, at, mask) in input.flips.iter().take(8) {
        let count = header.slots.len();
        let body = &mut header.slots[usize::from(*slot) % count].body;
        if !body.is_empty() {
            let len = body.len();
            body[usize::from(*at) % len] ^= mask;
        }
    }
    if let Some((m, t, p)) = input.costs {
        // Keep the fuzzer from asking for a quarter gigabyte: the bounds
        // themselves are what is tested, so costs above the minimum are
        // folded to just outside the reader maximum.
        let body = &mut header.slots[1].body;
        let m = if m > 19456 { 262_145 } else { m };
        let t = if t > 2 { 11 } else { t };
        let p = if p > 1 { 5 } else { p };
        body[16..20].copy_from_slice(&m.to_le_bytes());
        body[20..24].copy_from_slice(&t.to_le_bytes());
        body[24..28].copy_from_slice(&p.to_le_bytes());
    }
    for (kind, name, body) in input.extra.into_iter().take(4) {
        let kind = match kind & 3 {
            0 => kind,
            small => small,
        };
        if name.len() > 255 || body.len() > 300 {
            return;
        }
        // A well-formed added passphrase slot at the minimum costs, so added
        // ones never cost more than the base one.
        let mut body = body;
        if kind == 2 && body.len() == 76 {
            body[16..20].copy_from_slice(&19456u32.to_le_bytes());
            body[20..24].copy_from_slice(&2u32.to_le_bytes());
            body[24..28].copy_from_slice(&1u32.to_le_bytes());
        }
        header.slots.push(SlotEntry { kind, name, body });
    }
    let rotate = usize::from(input.rotate) % header.slots.len();
    header.slots.rotate_left(rotate);
    let Ok(mut bytes) = header.to_bytes() else {
        return;
    };
    bytes.extend_from_slice(&base.bytes[base.header_len..]);
    let _ = read(&bytes, &base.identities);
    for identity in &base.identities {
        let _ = read(&bytes, std::slice::from_ref(identity));
    }
});
