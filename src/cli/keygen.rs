//! `keepsake keygen`: a new raw key, X25519 identity or Ed25519 signing key,
//! written readable by its owner only and never over an existing file.

use std::borrow::Cow;
use std::path::Path;

use serde::Serialize;

use keepsake::{ArchiveKey, SigningKey, X25519Identity};

use super::exit::Failure;
use super::{Report, write_key_file};

#[derive(Serialize)]
pub(crate) struct KeygenJson<'a> {
    pub(crate) ok: bool,
    pub(crate) command: &'static str,
    pub(crate) key_file: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) recipient: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) signer: Option<String>,
}

/// What kind of key `keygen` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// A raw 32-byte archive key (hex).
    Raw,
    /// An X25519 identity; its recipient is printed.
    X25519,
    /// An Ed25519 signing key; its signer is printed.
    Ed25519,
}

/// The time a key file says it was created.
pub(crate) fn created_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `keepsake keygen`.
pub fn keygen(out: &Path, kind: KeyKind) -> Result<Report, Failure> {
    let (human, recipient, signer) = match kind {
        KeyKind::Raw => return keygen_raw(out),
        KeyKind::X25519 => {
            let identity = X25519Identity::generate();
            super::keys::write_secret_file(out, &identity.to_file_contents(&created_now()))?;
            let recipient = identity.recipient().to_string();
            (
                format!(
                    "wrote a new identity to {}
recipient: {recipient}
                     Give the recipient to whoever makes archives for you (`create --recipient`);
                     keep the identity file private: it opens them.
",
                    out.display()
                ),
                Some(recipient),
                None,
            )
        }
        KeyKind::Ed25519 => {
            let key = SigningKey::generate();
            super::keys::write_secret_file(out, &key.to_file_contents(&created_now()))?;
            let signer = key.signer().to_string();
            (
                format!(
                    "wrote a new signing key to {}
signer: {signer}
                     Archives made with `create --sign-with` carry this installation's signature;
                     check it with `verify --trusted-signer {signer}`.
",
                    out.display()
                ),
                None,
                Some(signer),
            )
        }
    };
    Report::new(
        human,
        &KeygenJson {
            ok: true,
            command: "keygen",
            key_file: out.to_string_lossy(),
            recipient,
            signer,
        },
    )
}

pub(crate) fn keygen_raw(out: &Path) -> Result<Report, Failure> {
    write_key_file(out, &ArchiveKey::generate())?;
    let human = format!(
        "wrote a new key to {}\n\
         Keep it safe and private: anyone who has it can read the archives made with it,\n\
         and nobody can read them without it.\n",
        out.display()
    );
    Report::new(
        human,
        &KeygenJson {
            ok: true,
            command: "keygen",
            key_file: out.to_string_lossy(),
            recipient: None,
            signer: None,
        },
    )
}
