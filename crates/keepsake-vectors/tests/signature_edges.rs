//! The strict-verification vectors (spec §6.6.3) are worth something only if
//! each holds a signature that a lax verifier accepts: one that reduces `S`
//! modulo the group order, decodes any point encoding and skips the
//! small-order checks. This checks that, with curve25519 arithmetic and the
//! signed message built from the spec, and that the codec calls each invalid.

use std::io::Cursor;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

use keepsake::{Limits, read_summary};

const EDGES: [&str; 5] = [
    "s-not-canonical",
    "small-order-key",
    "small-order-r",
    "key-not-canonical",
    "r-not-canonical",
];

/// Decodes a point encoding as a lax verifier does: `y` taken modulo p.
fn lax_point(bytes: &[u8]) -> curve25519_dalek::EdwardsPoint {
    CompressedEdwardsY(bytes.try_into().unwrap())
        .decompress()
        .expect("the vectors' points lie on the curve")
}

#[test]
fn every_edge_case_passes_a_lax_verifier_and_fails_strict_verification() {
    let vectors = keepsake_vectors::all();
    let mut seen = 0;
    for vector in &vectors {
        let Some(edge) = EDGES.iter().find(|edge| vector.name.ends_with(*edge)) else {
            continue;
        };
        seen += 1;
        let summary = read_summary(
            Cursor::new(&vector.bytes),
            &vector.identities(),
            Limits::default(),
        )
        .unwrap();
        let trailer = summary.trailer.unwrap();
        let block = trailer.signature;
        let scheme = block[0];
        let context = summary.opened.signature_context();
        let mut message = Vec::new();
        message.extend_from_slice(match scheme {
            1 => &b"keepsake/v1/signature/ed25519"[..],
            2 => &b"keepsake/v1/signature/ed25519-bound"[..],
            other => panic!("{}: scheme {other}", vector.name),
        });
        message.extend_from_slice(context.prelude());
        message.extend_from_slice(&trailer.to_bytes()[..120]);
        if scheme == 2 {
            message.extend_from_slice(context.commitment());
        }
        let (a, r, s) = (&block[1..33], &block[33..65], &block[65..97]);
        let k = Scalar::from_bytes_mod_order_wide(
            &Sha512::new()
                .chain_update(r)
                .chain_update(a)
                .chain_update(&message)
                .finalize()
                .into(),
        );
        let s = Scalar::from_bytes_mod_order(s.try_into().unwrap());
        assert_eq!(
            s * ED25519_BASEPOINT_POINT,
            lax_point(r) + k * lax_point(a),
            "{}: a lax verifier must accept it ({edge})",
            vector.name
        );
        assert_eq!(summary.signature.word(), "invalid", "{}", vector.name);
        assert_eq!(summary.signature.scheme(), scheme, "{}", vector.name);
    }
    assert_eq!(seen, 10, "five edges for each of schemes 1 and 2");
}
