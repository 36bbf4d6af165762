//! Vectors for trailer signatures (spec §6.6.3): scheme 2, bound to the file
//! key, which writers write; scheme 1, which readers still verify; and the
//! edges of strict Ed25519 verification for both.
//!
//! Every archive reads successfully: a signature never fails an archive.
//! Each vector states the status a reader must report. The edge cases are
//! signed here with curve25519 arithmetic, from the spec's definition of the
//! signed message, not with the codec's signer: each one is a signature that
//! a lax verifier accepts and a strict one (spec §6.6.3) refuses.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

use keepsake::crypto::signature::{SignatureStatus, Signer, SigningKey};
use keepsake::crypto::{Recipient, SignatureContext, seal_header_with_salt};
use keepsake::format::{ChunkKind, PRELUDE_LEN, SALT_LEN, Trailer};

use super::{
    Build, Built, KEY, SECOND_KEY, SMALL_CHUNK, Vector, base_batches, encoded_metadata, rng, small,
};

/// The seed of the signing key of the signed vectors.
pub const SIGNER: [u8; 32] = [0x53; 32];
/// The seed of another signing key.
pub const OTHER_SIGNER: [u8; 32] = [0x54; 32];

/// The scheme-1 label (spec §6.6.3).
const LABEL_SCHEME_1: &[u8] = b"keepsake/v1/signature/ed25519";
/// The scheme-2 label (spec §6.6.3).
const LABEL_SCHEME_2: &[u8] = b"keepsake/v1/signature/ed25519-bound";

/// The signed message of `scheme`, built from the spec's definition.
fn message(scheme: u8, context: &SignatureContext, trailer: &Trailer) -> Vec<u8> {
    let mut message = Vec::new();
    message.extend_from_slice(if scheme == 1 {
        LABEL_SCHEME_1
    } else {
        LABEL_SCHEME_2
    });
    message.extend_from_slice(context.prelude());
    message.extend_from_slice(&trailer.to_bytes()[..120]);
    if scheme == 2 {
        message.extend_from_slice(context.commitment());
    }
    message
}

/// An archive of one batch, signed by `sign` (or left unsigned).
fn signed(name: &str, sign: impl FnOnce(&SignatureContext, &mut Trailer)) -> Built {
    let mut build = Build::new(name, &[KEY], &small());
    build.batch(&base_batches()[0]);
    let context = build.writer.signature_context().clone();
    build.finish_with(|trailer| sign(&context, trailer))
}

/// The content of [`signed`] written again, for `SECOND_KEY`, under a fresh
/// file key and the same archive salt, with `signature_block` copied in: what
/// a key holder who re-encrypts a signed archive for someone else makes.
fn reencrypted(name: &str, salt: [u8; SALT_LEN], signature_block: [u8; 97]) -> Built {
    let mut rng = rng(name);
    let options = small();
    let limits = (SMALL_CHUNK, options.max_record_size());
    let recipients = [Recipient::raw_key(super::key(SECOND_KEY))];
    let (header, keys) =
        seal_header_with_salt(limits, &recipients, salt, &mut rng).expect("vector header");
    let mut build = Build::started(name, rng, &header, keys, &options);
    build.chunk(ChunkKind::METADATA, encoded_metadata(&build.metadata));
    build.batch(&base_batches()[0]);
    build.finish_with(|trailer| trailer.signature = signature_block)
}

fn salt_of(built: &Built) -> [u8; SALT_LEN] {
    built.bytes[PRELUDE_LEN - SALT_LEN..PRELUDE_LEN]
        .try_into()
        .expect("32 bytes")
}

/// What breaks strict verification in an otherwise good signature.
#[derive(Clone, Copy)]
enum Edge {
    /// `S` plus the group order: the same scalar, not reduced.
    SNotCanonical,
    /// The public key is the neutral point (small order).
    SmallOrderKey,
    /// `R` is the neutral point (small order).
    SmallOrderR,
    /// The public key is the neutral point, encoded with y = p + 1.
    KeyNotCanonical,
    /// `R` is the neutral point, encoded with y = p + 1.
    RNotCanonical,
}

/// The neutral point's canonical encoding: y = 1.
const NEUTRAL: [u8; 32] = {
    let mut bytes = [0; 32];
    bytes[0] = 1;
    bytes
};

/// The neutral point encoded with y = p + 1 = 2^255 − 18: not canonical.
const NEUTRAL_NOT_CANONICAL: [u8; 32] = {
    let mut bytes = [0xff; 32];
    bytes[0] = 0xee;
    bytes[31] = 0x7f;
    bytes
};

/// The group order ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
const ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn hash_scalar(parts: &[&[u8]]) -> Scalar {
    let mut digest = Sha512::new();
    for part in parts {
        digest.update(part);
    }
    Scalar::from_bytes_mod_order_wide(&digest.finalize().into())
}

/// A signature block of `scheme` over `message` that breaks strict
/// verification as `edge` says and passes a verifier that reduces `S`,
/// accepts any encoding and skips the small-order checks.
fn edge_block(edge: Edge, scheme: u8, message: &[u8]) -> [u8; 97] {
    let secret = hash_scalar(&[b"keepsake test vector edge signer"]);
    let public = (secret * ED25519_BASEPOINT_POINT).compress().to_bytes();
    let nonce = hash_scalar(&[b"keepsake test vector edge nonce", message]);
    let nonce_point = (nonce * ED25519_BASEPOINT_POINT).compress().to_bytes();
    let challenge = |r: &[u8; 32], a: &[u8; 32]| hash_scalar(&[r, a, message]);
    let (a, r, s) = match edge {
        Edge::SNotCanonical => {
            let s = nonce + challenge(&nonce_point, &public) * secret;
            (public, nonce_point, add_order(s.to_bytes()))
        }
        // With A the neutral point, [k]A vanishes: S = r.
        Edge::SmallOrderKey => (NEUTRAL, nonce_point, nonce.to_bytes()),
        Edge::KeyNotCanonical => (NEUTRAL_NOT_CANONICAL, nonce_point, nonce.to_bytes()),
        // With R the neutral point: S = k·a.
        Edge::SmallOrderR => (
            public,
            NEUTRAL,
            (challenge(&NEUTRAL, &public) * secret).to_bytes(),
        ),
        Edge::RNotCanonical => (
            public,
            NEUTRAL_NOT_CANONICAL,
            (challenge(&NEUTRAL_NOT_CANONICAL, &public) * secret).to_bytes(),
        ),
    };
    let mut block = [0; 97];
    block[0] = scheme;
    block[1..33].copy_from_slice(&a);
    block[33..65].copy_from_slice(&r);
    block[65..].copy_from_slice(&s);
    block
}

/// `s + ℓ` as 32 little-endian bytes (it fits: both are below 2^253).
fn add_order(s: [u8; 32]) -> [u8; 32] {
    let mut out = [0; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(ORDER[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    out
}

pub(super) fn vectors(out: &mut Vec<Vector>) {
    let signing = SigningKey::from_bytes(SIGNER);
    let other = SigningKey::from_bytes(OTHER_SIGNER);

    let bound = signed("signed-bound", |context, trailer| {
        signing.sign(context, trailer)
    });
    let reencrypted_bound = reencrypted(
        "signed-bound-re-encrypted",
        salt_of(&bound),
        bound.trailer.signature,
    );
    out.push(
        bound
            .clone()
            .success("an archive signed with scheme 2 (Ed25519 bound to the file key): the signature is valid")
            .with_signature(SignatureStatus::Valid(signing.signer())),
    );
    out.push(
        signed("signed-bound-bad-signature", |context, trailer| {
            signing.sign(context, trailer);
            trailer.signature[40] ^= 0x01;
        })
        .success("a scheme-2 signature block with one bit of R flipped: the archive reads, and its signature is reported invalid")
        .with_signature(SignatureStatus::Invalid(signing.signer())),
    );
    out.push(
        signed("signed-bound-by-another-key", |context, trailer| {
            other.sign(context, trailer)
        })
        .success("an archive validly signed with scheme 2 by another key: valid, by that key; a verifier trusting only the key of signed-bound refuses it")
        .with_signature(SignatureStatus::Valid(other.signer())),
    );
    out.push(
        reencrypted_bound
            .success("the content of signed-bound re-encrypted for SECOND_KEY under a new file key and the same salt, with signed-bound's signature block copied in: the file-key commitment differs, so the signature is invalid")
            .with_key(SECOND_KEY)
            .with_signature(SignatureStatus::Invalid(signing.signer())),
    );
    let mut stripped = signed("signed-bound", |_, _| {});
    stripped.name = "signed-bound-stripped".to_owned();
    out.push(
        stripped
            .success("signed-bound with its trailer sealed again by the key holder with an all-zero signature block: unsigned, which only a trusted-signer policy catches")
            .with_signature(SignatureStatus::Unsigned),
    );

    let unbound = signed("signed-ed25519", |context, trailer| {
        signing.sign_scheme_1(context.prelude(), trailer)
    });
    let reencrypted_unbound = reencrypted(
        "signed-ed25519-re-encrypted",
        salt_of(&unbound),
        unbound.trailer.signature,
    );
    out.push(
        unbound
            .success("an archive signed with scheme 1 (Ed25519 not bound to the file key): valid, reported as not bound")
            .with_signature(SignatureStatus::ValidUnbound(signing.signer())),
    );
    out.push(
        signed("signed-ed25519-bad-signature", |context, trailer| {
            signing.sign_scheme_1(context.prelude(), trailer);
            trailer.signature[40] ^= 0x01;
        })
        .success("a scheme-1 signature block with one bit of R flipped: the archive reads, and its signature is reported invalid")
        .with_signature(SignatureStatus::InvalidUnbound(signing.signer())),
    );
    out.push(
        signed("signed-ed25519-by-another-key", |context, trailer| {
            other.sign_scheme_1(context.prelude(), trailer)
        })
        .success("an archive validly signed with scheme 1 by another key: valid and not bound, by that key")
        .with_signature(SignatureStatus::ValidUnbound(other.signer())),
    );
    out.push(
        reencrypted_unbound
            .success("the content of signed-ed25519 re-encrypted for SECOND_KEY under a new file key and the same salt, with its scheme-1 signature block copied in: scheme 1 does not bind the file key, so it still verifies (valid, not bound)")
            .with_key(SECOND_KEY)
            .with_signature(SignatureStatus::ValidUnbound(signing.signer())),
    );

    for (scheme, prefix) in [(2, "signed-bound"), (1, "signed-ed25519")] {
        for (edge, suffix, what) in [
            (
                Edge::SNotCanonical,
                "s-not-canonical",
                "S is the valid scalar plus the group order",
            ),
            (
                Edge::SmallOrderKey,
                "small-order-key",
                "the public key is the neutral point (small order), and S = r makes [S]B = R + [k]A hold",
            ),
            (
                Edge::SmallOrderR,
                "small-order-r",
                "R is the neutral point (small order), and S = k·a makes [S]B = R + [k]A hold",
            ),
            (
                Edge::KeyNotCanonical,
                "key-not-canonical",
                "the public key is the neutral point encoded with y = p + 1 (not canonical), and S = r",
            ),
            (
                Edge::RNotCanonical,
                "r-not-canonical",
                "R is the neutral point encoded with y = p + 1 (not canonical), and S = k·a over those R bytes",
            ),
        ] {
            let mut block = [0; 97];
            let built = signed(&format!("{prefix}-{suffix}"), |context, trailer| {
                block = edge_block(edge, scheme, &message(scheme, context, trailer));
                trailer.signature = block;
            });
            let signer = Signer(block[1..33].try_into().expect("32 bytes"));
            let status = if scheme == 2 {
                SignatureStatus::Invalid(signer)
            } else {
                SignatureStatus::InvalidUnbound(signer)
            };
            out.push(
                built
                    .success(&format!(
                        "a scheme-{scheme} signature in which {what}: a lax verifier accepts it, strict verification reports it invalid"
                    ))
                    .with_signature(status),
            );
        }
    }
}
