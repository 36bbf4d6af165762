//! Text forms of public and secret keys (spec §4.7): BIP-173 bech32 (not
//! bech32m), so a mistyped or truncated key is caught by its checksum
//! instead of silently naming another key.

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Hrp};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// HRP of an X25519 recipient (public key): `keepsake1…`.
pub const HRP_RECIPIENT: &str = "keepsake";
/// HRP of an X25519 identity (secret key), written upper-case: `KEEPSAKE-SECRET-KEY-1…`.
pub const HRP_SECRET_KEY: &str = "keepsake-secret-key-";
/// HRP of an Ed25519 signer (public key): `keepsakesig1…`.
pub const HRP_SIGNER: &str = "keepsakesig";
/// HRP of an Ed25519 signing key (secret), written upper-case: `KEEPSAKE-SIGNING-KEY-1…`.
pub const HRP_SIGNING_KEY: &str = "keepsake-signing-key-";

/// Encodes 32 bytes under `hrp`, lower-case (public keys) or upper-case (secrets).
pub(crate) fn encode(hrp: &str, bytes: &[u8; 32], upper: bool) -> Zeroizing<String> {
    let hrp = Hrp::parse(hrp).expect("the HRPs above are valid");
    let text = if upper {
        bech32::encode_upper::<Bech32>(hrp, bytes)
    } else {
        bech32::encode_lower::<Bech32>(hrp, bytes)
    };
    Zeroizing::new(text.expect("32 bytes fit a bech32 string"))
}

/// Decodes a bech32 string that must carry `hrp` (either case, not mixed)
/// and exactly 32 bytes.
pub(crate) fn decode(hrp: &str, text: &str, what: &str) -> Result<Zeroizing<[u8; 32]>> {
    let invalid = |reason: String| Error::InvalidKey {
        reason: format!("{what}: {reason}"),
    };
    let checked = CheckedHrpstring::new::<Bech32>(text.trim())
        .map_err(|error| invalid(format!("not a valid bech32 string ({error})")))?;
    // 32 bytes are 52 five-bit groups: 4 bits of padding, which must be zero
    // (BIP-173), so that one key has one text form (spec §4.5.4).
    checked
        .validate_segwit_padding()
        .map_err(|error| invalid(format!("its padding bits are not zero ({error})")))?;
    if checked.hrp().to_lowercase() != hrp {
        return Err(invalid(format!(
            "it starts with `{}1`, not `{hrp}1`",
            checked.hrp().to_lowercase()
        )));
    }
    let mut out = Zeroizing::new([0; 32]);
    let mut len = 0;
    for byte in checked.byte_iter() {
        if len == 32 {
            return Err(invalid("it holds more than 32 bytes".into()));
        }
        out[len] = byte;
        len += 1;
    }
    if len != 32 {
        return Err(invalid(format!("it holds {len} bytes instead of 32")));
    }
    Ok(out)
}

/// The one key line of a key file: the first line that is neither empty nor
/// a `#` comment.
pub(crate) fn key_line(contents: &str) -> Option<&str> {
    contents
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips_and_catches_a_typo(bytes in any::<[u8; 32]>(), at in 0usize..52, upper in any::<bool>()) {
            let text = encode(HRP_RECIPIENT, &bytes, upper);
            prop_assert_eq!(*decode(HRP_RECIPIENT, &text, "recipient").unwrap(), bytes);
            // Any one changed data character is caught by the checksum.
            let mut chars: Vec<char> = text.chars().collect();
            let i = HRP_RECIPIENT.len() + 1 + at;
            chars[i] = if chars[i] == 'q' || chars[i] == 'Q' { 'p' } else { 'q' };
            let typo: String = chars.into_iter().collect();
            let typo = if upper { typo.to_uppercase() } else { typo };
            prop_assert!(decode(HRP_RECIPIENT, &typo, "recipient").is_err());
            // The wrong kind of key is refused.
            prop_assert!(decode(HRP_SIGNER, &text, "signer").is_err());
        }
    }

    #[test]
    fn refuses_non_zero_padding() {
        use bech32::Fe32;
        use bech32::primitives::iter::{ByteIterExt, Fe32IterExt};
        let hrp = Hrp::parse(HRP_RECIPIENT).unwrap();
        let bytes = [7u8; 32];
        let text = |pad: u8| -> String {
            let mut groups: Vec<Fe32> = bytes.iter().copied().bytes_to_fes().collect();
            assert_eq!(groups.len(), 52);
            let last = groups.pop().unwrap();
            groups.push(Fe32::try_from(last.to_u8() | pad).unwrap());
            groups
                .into_iter()
                .with_checksum::<Bech32>(&hrp)
                .chars()
                .collect()
        };
        assert_eq!(
            *decode(HRP_RECIPIENT, &text(0), "recipient").unwrap(),
            bytes
        );
        for pad in [1, 2, 4, 8] {
            assert!(
                decode(HRP_RECIPIENT, &text(pad), "recipient").is_err(),
                "{pad}"
            );
        }
    }

    #[test]
    fn refuses_bech32m_and_wrong_lengths() {
        let hrp = Hrp::parse(HRP_RECIPIENT).unwrap();
        let m = bech32::encode::<bech32::Bech32m>(hrp, &[1; 32]).unwrap();
        assert!(decode(HRP_RECIPIENT, &m, "recipient").is_err());
        let short = bech32::encode::<Bech32>(hrp, &[1; 31]).unwrap();
        assert!(decode(HRP_RECIPIENT, &short, "recipient").is_err());
    }
}
