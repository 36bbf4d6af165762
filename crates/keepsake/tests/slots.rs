//! Key slots of every kind, header editing and trailer signatures, end to end.

use std::path::Path;

use keepsake::crypto::signature::require_signer;
use keepsake::format::{Header, HeaderLen};
use keepsake::{
    ArchiveKey, ArchiveMetadata, ArchiveReader, ArchiveWriter, Argon2Params, Error, Identity,
    Limit, Limits, Passphrase, Recipient, SignatureStatus, SigningKey, SlotSelector, WriterOptions,
    X25519Identity, X25519Recipient, add_slot, list_slots, read_summary, remove_slot,
};
use rand::SeedableRng;

fn metadata() -> ArchiveMetadata {
    let mut metadata = ArchiveMetadata::now();
    metadata.created_at_ns = 1_700_000_000_000_000_000;
    metadata
}

fn options(signing_key: Option<SigningKey>) -> WriterOptions {
    WriterOptions {
        chunk_size: 4096,
        level: 3,
        threads: 1,
        signing_key,
    }
}

fn passphrase(text: &str) -> Passphrase {
    Passphrase::new(text).unwrap()
}

struct Keys {
    raw: ArchiveKey,
    passphrase: Passphrase,
    alice: X25519Identity,
    bob: X25519Identity,
}

fn keys() -> Keys {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    Keys {
        raw: ArchiveKey::from_bytes([7; 32]),
        passphrase: passphrase("correct horse battery staple"),
        alice: X25519Identity::generate_with(&mut rng),
        bob: X25519Identity::generate_with(&mut rng),
    }
}

/// An archive with a raw-key slot, a passphrase slot and two recipient slots.
fn four_slot_archive(keys: &Keys, signing_key: Option<SigningKey>) -> Vec<u8> {
    let recipients = [
        Recipient::raw_key(keys.raw.clone()).named("phone"),
        Recipient::passphrase(keys.passphrase.clone(), Argon2Params::MINIMUM).named("memorised"),
        Recipient::x25519(keys.alice.recipient()).named("alice"),
        Recipient::x25519(keys.bob.recipient()),
    ];
    let writer =
        ArchiveWriter::new(Vec::new(), &recipients, &metadata(), &options(signing_key)).unwrap();
    writer.finish().unwrap().0
}

fn open(bytes: &[u8], identities: &[Identity]) -> Result<(), Error> {
    let mut reader = ArchiveReader::new(bytes, identities, Limits::default())?;
    while reader.next_batch()?.is_some() {}
    Ok(())
}

fn header_len(bytes: &[u8]) -> usize {
    match Header::measure(bytes).unwrap() {
        HeaderLen::Exactly(len) => len,
        HeaderLen::AtLeast(_) => panic!("short header"),
    }
}

/// Replaces the header of `bytes` (its MAC left stale: these tests fail
/// before the MAC is checked).
fn with_header(bytes: &[u8], edit: impl FnOnce(&mut Header)) -> Vec<u8> {
    let len = header_len(bytes);
    let mut header = Header::parse(&bytes[..len]).unwrap();
    edit(&mut header);
    let mut out = header.to_bytes().unwrap();
    out.extend_from_slice(&bytes[len..]);
    out
}

#[test]
fn every_slot_kind_opens_with_its_identity_and_nothing_else_does() {
    let keys = keys();
    let bytes = four_slot_archive(&keys, None);
    let openers: [Identity; 4] = [
        keys.raw.clone().into(),
        keys.passphrase.clone().into(),
        keys.alice.clone().into(),
        keys.bob.clone().into(),
    ];
    for identity in &openers {
        open(&bytes, std::slice::from_ref(identity)).unwrap();
    }
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
    let strangers: [Identity; 3] = [
        ArchiveKey::from_bytes([8; 32]).into(),
        passphrase("correct horse battery stapler").into(),
        X25519Identity::generate_with(&mut rng).into(),
    ];
    for stranger in &strangers {
        assert!(
            matches!(
                open(&bytes, std::slice::from_ref(stranger)),
                Err(Error::WrongKey)
            ),
            "{stranger:?}"
        );
    }
    // All strangers at once, and no identity at all, are still the wrong key.
    assert!(matches!(open(&bytes, &strangers), Err(Error::WrongKey)));
    assert!(matches!(open(&bytes, &[]), Err(Error::WrongKey)));
    // A stranger beside a right identity does not get in the way.
    let mut mixed = strangers.to_vec();
    mixed.push(keys.bob.clone().into());
    open(&bytes, &mixed).unwrap();
}

#[test]
fn hostile_argon2_parameters_are_never_computed() {
    let keys = keys();
    let bytes = four_slot_archive(&keys, None);
    for (at, value, what) in [
        (16, 262_145u32, Limit::Argon2Memory),
        (16, 19_455, Limit::Argon2Memory),
        (20, 11, Limit::Argon2Passes),
        (20, 1, Limit::Argon2Passes),
        (24, 5, Limit::Argon2Lanes),
        (24, 0, Limit::Argon2Lanes),
    ] {
        let hostile = with_header(&bytes, |header| {
            header.slots[1].body[at..at + 4].copy_from_slice(&value.to_le_bytes());
        });
        match open(&hostile, &[keys.passphrase.clone().into()]) {
            Err(Error::LimitExceeded { what: found, .. }) => assert_eq!(found, what),
            other => panic!("{value} at {at}: {other:?}"),
        }
        // Another identity that opens another slot is not held up by it.
        open(&hostile, &[keys.alice.clone().into()])
            .map(|_| ())
            .unwrap_or_else(|error| {
                // The stale MAC is all that fails once the file key is found.
                assert!(matches!(error, Error::HeaderCorrupt { .. }), "{error:?}")
            });
    }
}

#[test]
fn only_four_passphrase_slots_are_computed() {
    let keys = keys();
    let recipients: Vec<Recipient> = (0..5)
        .map(|i| Recipient::passphrase(passphrase(&format!("pass {i}")), Argon2Params::MINIMUM))
        .collect();
    let bytes = ArchiveWriter::new(Vec::new(), &recipients, &metadata(), &options(None))
        .unwrap()
        .finish()
        .unwrap()
        .0;
    open(&bytes, &[passphrase("pass 3").into()]).unwrap();
    assert!(matches!(
        open(&bytes, &[passphrase("pass 4").into()]),
        Err(Error::LimitExceeded {
            what: Limit::PassphraseSlots,
            ..
        })
    ));
    drop(keys);
}

#[test]
fn slot_bodies_of_the_wrong_length_are_header_corrupt() {
    let keys = keys();
    let bytes = four_slot_archive(&keys, None);
    for (slot, len) in [(1, 75), (1, 77), (2, 79), (3, 81)] {
        let bad = with_header(&bytes, |header| header.slots[slot].body.resize(len, 0));
        assert!(
            matches!(
                open(&bad, &[keys.raw.clone().into()]),
                Err(Error::HeaderCorrupt { .. })
            ),
            "slot {slot} of {len} bytes"
        );
    }
}

#[test]
fn writers_refuse_weak_parameters_and_unusable_recipients() {
    let weak = Argon2Params {
        m_cost: 19455,
        ..Argon2Params::MINIMUM
    };
    let recipients = [Recipient::passphrase(passphrase("x"), weak)];
    assert!(matches!(
        ArchiveWriter::new(Vec::new(), &recipients, &metadata(), &options(None)),
        Err(Error::InvalidInput { .. })
    ));
    // A low-order point gives an all-zero shared secret.
    let zero = [Recipient::x25519(X25519Recipient::from_bytes([0; 32]))];
    assert!(matches!(
        ArchiveWriter::new(Vec::new(), &zero, &metadata(), &options(None)),
        Err(Error::InvalidKey { .. })
    ));
    assert!(Passphrase::new("").is_err());
}

#[test]
fn secrets_are_not_printed_and_text_forms_round_trip() {
    let keys = keys();
    assert_eq!(format!("{:?}", keys.passphrase), "Passphrase(<redacted>)");
    assert_eq!(format!("{:?}", keys.alice), "X25519Identity(<redacted>)");
    let identity: Identity = keys.alice.clone().into();
    assert!(!format!("{identity:?}").contains(keys.alice.to_text().as_str()));
    let signing = SigningKey::from_bytes([9; 32]);
    assert!(!format!("{signing:?}").contains(signing.to_text().as_str()));

    let file = keys.alice.to_file_contents("2026-01-01T00:00:00Z");
    assert!(file.contains(&format!("# recipient: {}", keys.alice.recipient())));
    let back = X25519Identity::from_text(&file).unwrap();
    assert_eq!(back.recipient(), keys.alice.recipient());
    assert!(keys.alice.to_text().starts_with("KEEPSAKE-SECRET-KEY-1"));
    let recipient = keys.alice.recipient().to_string();
    assert!(recipient.starts_with("keepsake1"));
    assert_eq!(
        recipient.parse::<X25519Recipient>().unwrap(),
        keys.alice.recipient()
    );
    let signer = signing.signer().to_string();
    assert!(signer.starts_with("keepsakesig1"));
    assert_eq!(
        signer.parse::<keepsake::Signer>().unwrap(),
        signing.signer()
    );
    let signing_file = signing.to_file_contents("2026-01-01T00:00:00Z");
    assert!(signing.to_text().starts_with("KEEPSAKE-SIGNING-KEY-1"));
    assert_eq!(SigningKey::from_text(&signing_file).unwrap(), signing);
    // A recipient is not an identity, nor the other way round.
    assert!(X25519Identity::from_text(&recipient).is_err());
    assert!(signer.parse::<X25519Recipient>().is_err());
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn adding_and_removing_slots_keeps_the_body_byte_for_byte() {
    let keys = keys();
    let dir = tempfile::tempdir().unwrap();
    let signing = SigningKey::from_bytes([3; 32]);
    let original_bytes = four_slot_archive(&keys, Some(signing.clone()));
    let original = write_file(dir.path(), "a.keepsake", &original_bytes);
    let body = &original_bytes[header_len(&original_bytes)..];

    let slots = list_slots(&original, &[keys.bob.clone().into()]).unwrap();
    let kinds: Vec<(usize, &str, &str)> = slots
        .iter()
        .map(|slot| (slot.index, slot.kind_name(), slot.name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (0, "raw-key", "phone"),
            (1, "passphrase", "memorised"),
            (2, "x25519", "alice"),
            (3, "x25519", "")
        ]
    );

    // Add a slot for a new key, opening the header with a passphrase.
    let laptop = ArchiveKey::from_bytes([11; 32]);
    let added = dir.path().join("b.keepsake");
    let table = add_slot(
        &original,
        &added,
        &[keys.passphrase.clone().into()],
        &Recipient::raw_key(laptop.clone()).named("laptop"),
    )
    .unwrap();
    assert_eq!(table.len(), 5);
    let added_bytes = std::fs::read(&added).unwrap();
    assert_eq!(&added_bytes[header_len(&added_bytes)..], body);
    open(&added_bytes, &[laptop.clone().into()]).unwrap();
    open(&added_bytes, &[keys.raw.clone().into()]).unwrap();
    // The signature does not cover the slot table: still valid.
    let summary = read_summary(
        std::io::Cursor::new(&added_bytes),
        &[laptop.clone().into()],
        Limits::default(),
    )
    .unwrap();
    assert_eq!(summary.signature, SignatureStatus::Valid(signing.signer()));

    // Remove the raw-key slot by name and Bob's by index.
    let removed = dir.path().join("c.keepsake");
    remove_slot(
        &added,
        &removed,
        &[laptop.clone().into()],
        &SlotSelector::Name("phone".into()),
    )
    .unwrap();
    let fewer = dir.path().join("d.keepsake");
    let table = remove_slot(
        &removed,
        &fewer,
        &[laptop.clone().into()],
        &SlotSelector::Index(2),
    )
    .unwrap();
    let names: Vec<&str> = table.iter().map(|slot| slot.name.as_str()).collect();
    assert_eq!(names, ["memorised", "alice", "laptop"]);
    let fewer_bytes = std::fs::read(&fewer).unwrap();
    assert_eq!(&fewer_bytes[header_len(&fewer_bytes)..], body);
    for identity in [
        Identity::from(laptop.clone()),
        keys.passphrase.clone().into(),
        keys.alice.clone().into(),
    ] {
        open(&fewer_bytes, &[identity]).unwrap();
    }
    for identity in [Identity::from(keys.raw.clone()), keys.bob.clone().into()] {
        assert!(matches!(
            open(&fewer_bytes, &[identity]),
            Err(Error::WrongKey)
        ));
    }

    // The original is untouched, an existing output is never replaced, and
    // the last slot cannot be removed.
    assert_eq!(std::fs::read(&original).unwrap(), original_bytes);
    assert!(matches!(
        add_slot(
            &original,
            &fewer,
            &[keys.raw.clone().into()],
            &Recipient::raw_key(laptop.clone())
        ),
        Err(Error::InvalidInput { .. })
    ));
    let single = write_file(
        dir.path(),
        "single.keepsake",
        &ArchiveWriter::new(Vec::new(), &[&laptop], &metadata(), &options(None))
            .unwrap()
            .finish()
            .unwrap()
            .0,
    );
    assert!(matches!(
        remove_slot(
            &single,
            &dir.path().join("none.keepsake"),
            &[laptop.clone().into()],
            &SlotSelector::Index(0)
        ),
        Err(Error::InvalidInput { .. })
    ));
    assert!(!dir.path().join("none.keepsake").exists());
    // A wrong identity edits nothing.
    assert!(matches!(
        remove_slot(
            &original,
            &dir.path().join("e.keepsake"),
            &[ArchiveKey::from_bytes([1; 32]).into()],
            &SlotSelector::Index(0)
        ),
        Err(Error::WrongKey)
    ));
    assert!(!dir.path().join("e.keepsake").exists());
}

#[test]
fn signatures_verify_and_forgeries_do_not() {
    let keys = keys();
    let signing = SigningKey::from_bytes([3; 32]);
    let other = SigningKey::from_bytes([4; 32]);
    let summary = |bytes: &[u8]| {
        read_summary(
            std::io::Cursor::new(bytes),
            &[keys.raw.clone().into()],
            Limits::default(),
        )
        .unwrap()
    };
    let signed = four_slot_archive(&keys, Some(signing.clone()));
    let status = summary(&signed).signature;
    assert_eq!(status, SignatureStatus::Valid(signing.signer()));
    require_signer(&status, &signing.signer()).unwrap();
    assert!(matches!(
        require_signer(&status, &other.signer()),
        Err(Error::UntrustedSignature { .. })
    ));

    let unsigned = four_slot_archive(&keys, None);
    let status = summary(&unsigned).signature;
    assert_eq!(status, SignatureStatus::Unsigned);
    assert!(require_signer(&status, &signing.signer()).is_err());

    // A signature block moved onto another archive's trailer (another file
    // key and salt), onto changed counts, or with one bit flipped, does not
    // verify: reported, never a read failure.
    let signed_summary = summary(&signed);
    let context = signed_summary.opened.signature_context();
    let trailer = signed_summary.trailer.unwrap();
    let unsigned_summary = summary(&unsigned);
    let mut moved = unsigned_summary.trailer.unwrap();
    moved.signature = trailer.signature;
    assert_eq!(
        SignatureStatus::of(&unsigned_summary.opened.signature_context(), &moved),
        SignatureStatus::Invalid(signing.signer())
    );
    let mut recounted = trailer.clone();
    recounted.messages += 1;
    assert_eq!(
        SignatureStatus::of(&context, &recounted),
        SignatureStatus::Invalid(signing.signer())
    );
    let mut flipped = trailer.clone();
    flipped.signature[40] ^= 1;
    assert_eq!(
        SignatureStatus::of(&context, &flipped),
        SignatureStatus::Invalid(signing.signer())
    );
    // Another key named in the block does not verify the signature either.
    let mut renamed = trailer.clone();
    renamed.signature[1..33].copy_from_slice(&other.signer().0);
    let status = SignatureStatus::of(&context, &renamed);
    assert_eq!(status, SignatureStatus::Invalid(other.signer()));
    assert!(require_signer(&status, &other.signer()).is_err());
    // The same block relabelled scheme 1 signs another message.
    let mut relabelled = trailer.clone();
    relabelled.signature[0] = 1;
    assert_eq!(
        SignatureStatus::of(&context, &relabelled),
        SignatureStatus::InvalidUnbound(signing.signer())
    );
    // A valid scheme-1 signature is reported as not bound, and a trusted
    // signer policy refuses it.
    let mut scheme_1 = trailer.clone();
    signing.sign_scheme_1(context.prelude(), &mut scheme_1);
    let status = SignatureStatus::of(&context, &scheme_1);
    assert_eq!(status, SignatureStatus::ValidUnbound(signing.signer()));
    assert!(matches!(
        require_signer(&status, &signing.signer()),
        Err(Error::UntrustedSignature { reason }) if reason.contains("scheme 1")
    ));
    let mut unknown = trailer;
    unknown.signature[0] = 3;
    assert_eq!(
        SignatureStatus::of(&context, &unknown),
        SignatureStatus::UnknownScheme(3)
    );
}

#[test]
fn only_a_required_signer_authenticates_an_x25519_writer() {
    use keepsake::crypto::OpenedWith;
    use keepsake::crypto::signature::sender_authenticated;
    let signing = SigningKey::from_bytes([3; 32]);
    let other = SigningKey::from_bytes([4; 32]);
    let valid = SignatureStatus::Valid(signing.signer());
    // A raw key or passphrase is a secret: its holder wrote the archive.
    for kind in [OpenedWith::RawKey, OpenedWith::Passphrase] {
        assert!(sender_authenticated(kind, &SignatureStatus::Unsigned, None));
    }
    // A recipient string is public: only a required, matching signer counts.
    let x25519 = OpenedWith::X25519;
    assert!(!sender_authenticated(
        x25519,
        &SignatureStatus::Unsigned,
        None
    ));
    assert!(!sender_authenticated(x25519, &valid, None));
    assert!(!sender_authenticated(x25519, &valid, Some(&other.signer())));
    assert!(sender_authenticated(
        x25519,
        &valid,
        Some(&signing.signer())
    ));
    let unbound = SignatureStatus::ValidUnbound(signing.signer());
    assert!(!sender_authenticated(
        x25519,
        &unbound,
        Some(&signing.signer())
    ));
}
