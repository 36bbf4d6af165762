//! The key schedule, key slots, header MAC, frame sealing and signatures
//! (spec §4, §5.2–§5.3, §6.6.3).
//!
//! Every derived key comes from HKDF-SHA256 with its own `info` label, each
//! defined beside its one use; "where is the nonce built" is [`nonce`].

mod frame;
mod header;
mod keys;
pub mod keytext;
mod opened;
mod raw_slot;
pub mod signature;
pub mod slots;

pub use frame::{PayloadCipher, nonce};
pub use header::{
    HeaderKeys, Identity, LABEL_HEADER_MAC, LABEL_PAYLOAD, seal_header, seal_header_with_salt,
};
pub(crate) use header::{open_file_key, open_header};
pub use keys::{ArchiveKey, KEY_LEN, KeyFileForm};
pub(crate) use keys::{FileKey, hex_digit};
pub use opened::{LABEL_FILE_KEY_COMMITMENT, OpenedKey, OpenedWith, SignatureContext};
pub(crate) use raw_slot::seal_raw_slot;
pub use raw_slot::{LABEL_RAW_SLOT_CHECK, LABEL_RAW_SLOT_WRAP};
pub use slots::{Argon2Params, Opener, Passphrase, Recipient, X25519Identity, X25519Recipient};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::format::{ChunkKind, FLAG_FINAL, FrameHeader, Header, TAG_LEN};
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn sealed(keys: &[(&ArchiveKey, &str)], seed: u64) -> (Header, HeaderKeys) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let recipients: Vec<Recipient> = keys
            .iter()
            .map(|(key, name)| Recipient::raw_key((*key).clone()).named(*name))
            .collect();
        seal_header((4096, 4000), &recipients, &mut rng).unwrap()
    }

    proptest! {
        #[test]
        fn frames_open_only_with_their_own_header(body in proptest::collection::vec(any::<u8>(), 0..2000), chunk in any::<u64>(), last in any::<bool>(), seed in any::<u64>()) {
            let key = ArchiveKey::from_bytes([1; 32]);
            let (_, keys) = sealed(&[(&key, "")], seed);
            let frame = FrameHeader {
                kind: ChunkKind::RECORDS,
                flags: if last { FLAG_FINAL } else { 0 },
                stored_len: (body.len() + TAG_LEN) as u32,
                chunk,
            };
            let header = frame.to_bytes();
            let mut buffer = body.clone();
            keys.payload.seal(&header, &frame, &mut buffer);
            prop_assert_eq!(buffer.len(), body.len() + TAG_LEN);

            let mut opened = buffer.clone();
            keys.payload.open(&header, &frame, &mut opened).unwrap();
            prop_assert_eq!(&opened, &body);

            // The same ciphertext at another position, or with the final flag
            // flipped, does not authenticate: the nonce binds both.
            let moved = FrameHeader { chunk: chunk.wrapping_add(1), ..frame };
            let mut again = buffer.clone();
            prop_assert!(keys.payload.open(&moved.to_bytes(), &moved, &mut again).is_err());
            let flipped = FrameHeader { flags: frame.flags ^ FLAG_FINAL, ..frame };
            let mut again = buffer.clone();
            prop_assert!(keys.payload.open(&flipped.to_bytes(), &flipped, &mut again).is_err());
        }
    }

    #[test]
    fn each_slot_opens_and_a_stranger_is_wrong_key() {
        let first = ArchiveKey::from_bytes([1; 32]);
        let second = ArchiveKey::from_bytes([2; 32]);
        let (header, _) = sealed(&[(&first, "phone"), (&second, "laptop")], 7);
        assert!(open_header(&header, &[first.into()]).is_ok());
        assert!(open_header(&header, &[second.into()]).is_ok());
        let stranger = ArchiveKey::from_bytes([3; 32]);
        assert!(matches!(
            open_header(&header, &[stranger.into()]),
            Err(Error::WrongKey)
        ));
    }

    #[test]
    fn passphrase_slots_cost_nothing_unless_a_passphrase_is_offered() {
        let key = ArchiveKey::from_bytes([1; 32]);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        let passphrase = Passphrase::new("hunter2").unwrap();
        let mut recipients = vec![Recipient::raw_key(key.clone())];
        recipients.extend(
            (0..5).map(|_| Recipient::passphrase(passphrase.clone(), Argon2Params::MINIMUM)),
        );
        let (header, _) = seal_header((4096, 4000), &recipients, &mut rng).unwrap();
        let runs = slots::argon2_runs_on_this_thread;
        let before = runs();
        let stranger = ArchiveKey::from_bytes([2; 32]);
        assert!(matches!(
            open_header(&header, &[stranger.into()]),
            Err(Error::WrongKey)
        ));
        assert!(open_header(&header, &[key.into()]).is_ok());
        assert_eq!(runs(), before, "no passphrase offered, no Argon2 run");
        let wrong = Passphrase::new("hunter3").unwrap();
        assert!(matches!(
            open_header(&header, &[wrong.into()]),
            Err(Error::LimitExceeded {
                what: crate::error::Limit::PassphraseSlots,
                value: 5,
                limit: 4
            })
        ));
        assert_eq!(runs(), before + 4, "four slots computed, the fifth skipped");
        // The key recovered once opens the header again with no slot work.
        let (opened, _) = open_header(&header, &[passphrase.into()]).unwrap();
        assert_eq!(opened.opened_with(), OpenedWith::Passphrase);
        let before = runs();
        let (again, _) = open_header(&header, &[opened.clone().into()]).unwrap();
        assert_eq!((runs(), &again), (before, &opened));
        // It opens no other header.
        let (other, _) = sealed(&[(&ArchiveKey::from_bytes([1; 32]), "")], 12);
        assert!(matches!(
            open_header(&other, &[again.into()]),
            Err(Error::WrongKey)
        ));
    }

    #[test]
    fn a_damaged_wrapped_key_is_not_reported_as_a_wrong_key() {
        let key = ArchiveKey::from_bytes([1; 32]);
        let (mut header, _) = sealed(&[(&key, "")], 8);
        let last = header.slots[0].body.len() - 1;
        header.slots[0].body[last] ^= 1;
        assert!(matches!(
            open_header(&header, &[key.into()]),
            Err(Error::HeaderCorrupt { .. })
        ));
    }

    #[test]
    fn a_slot_moved_to_another_header_fails_the_mac() {
        let key = ArchiveKey::from_bytes([1; 32]);
        let (mut header, _) = sealed(&[(&key, "")], 9);
        let (other, _) = sealed(&[(&key, "")], 10);
        header.slots = other.slots;
        assert!(matches!(
            open_header(&header, &[key.into()]),
            Err(Error::HeaderCorrupt { .. })
        ));
    }

    #[test]
    fn key_files_accept_hex_or_raw_bytes_and_nothing_else() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let from_hex = ArchiveKey::from_key_file(format!("{hex}\n").as_bytes()).unwrap();
        assert_eq!(from_hex.to_hex().as_str(), hex.to_lowercase());
        let raw = ArchiveKey::from_key_file(&[0x5a; 32]).unwrap();
        assert_eq!(raw.bytes(), &[0x5a; 32]);
        for bad in [
            &b"abc"[..],
            &[0; 33][..],
            &b"zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"[..],
        ] {
            assert!(matches!(
                ArchiveKey::from_key_file(bad),
                Err(Error::InvalidKey { .. })
            ));
        }
        assert_eq!(format!("{from_hex:?}"), "ArchiveKey(<redacted>)");
    }

    proptest! {
        #[test]
        fn random_raw_key_files_look_random_and_typed_phrases_do_not(
            bytes in any::<[u8; 32]>(),
            phrase in "[ -~]{32}",
            byte in any::<u8>(),
        ) {
            // A random 32-byte file fails the plausibility checks with a
            // probability far below anything a test run can meet.
            prop_assume!(bytes.iter().any(|b| !b.is_ascii_graphic() && !b.is_ascii_whitespace()));
            let (_, form) = ArchiveKey::read_key_file(&bytes).unwrap();
            let distinct = bytes.iter().collect::<std::collections::HashSet<_>>().len();
            prop_assert_eq!(form == KeyFileForm::RawBytes, distinct >= 16);
            let (key, form) = ArchiveKey::read_key_file(phrase.as_bytes()).unwrap();
            prop_assert!(matches!(form, KeyFileForm::Implausible(_)));
            prop_assert_eq!(key.bytes(), phrase.as_bytes());
            let (_, form) = ArchiveKey::read_key_file(&[byte; 32]).unwrap();
            prop_assert!(matches!(form, KeyFileForm::Implausible(_)));
            let text = format!("{}\n", ArchiveKey::from_bytes(bytes).to_hex().as_str());
            let (key, form) = ArchiveKey::read_key_file(text.as_bytes()).unwrap();
            prop_assert_eq!((key.bytes(), form), (&bytes, KeyFileForm::Text));
        }
    }
}
