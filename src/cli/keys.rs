//! Where the CLI gets keys: the options that open an archive ([`OpenWith`],
//! shared by every command that reads one), the options that say whom a new
//! archive is for ([`WriteFor`]), and the key files `keygen` writes.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use zeroize::Zeroizing;

use keepsake::crypto::OpenedWith;
use keepsake::crypto::signature::sender_authenticated;
use keepsake::{
    Argon2Params, Identity, Passphrase, Recipient, SignatureStatus, Signer, SigningKey,
    X25519Identity, X25519Recipient,
};

use super::exit::{Direction, FAILURE, Failure};
use super::read_key;

/// Identity and signing key files are a few comment lines and one key line.
const SECRET_FILE_MAX: u64 = 4096;

/// How to open an archive; any mix, at least one. Every slot of the archive
/// is tried with every identity given.
#[derive(Debug, Clone, Args)]
#[group(id = "open_with", required = true, multiple = true)]
pub struct OpenWith {
    /// A key file (from `keepsake keygen --out`); repeatable.
    #[arg(long, value_name = "KEYFILE")]
    pub key_file: Vec<PathBuf>,
    /// The name of an environment variable holding a passphrase (never
    /// given on the command line, where other users could see it).
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// An X25519 identity file (from `keepsake keygen --x25519`); repeatable.
    #[arg(long, value_name = "IDENTITY")]
    pub identity: Vec<PathBuf>,
}

impl OpenWith {
    /// Reads every key given.
    pub fn identities(&self) -> Result<Vec<Identity>, Failure> {
        let mut out = Vec::new();
        for path in &self.key_file {
            out.push(Identity::RawKey(read_key(path)?));
        }
        if let Some(var) = &self.passphrase_env {
            out.push(Identity::Passphrase(passphrase_from_env(var)?));
        }
        for path in &self.identity {
            out.push(Identity::X25519(read_identity(path)?));
        }
        Ok(out)
    }
}

/// Whom a new archive is for: one key slot per option; at least one.
#[derive(Debug, Clone, Args)]
#[group(id = "write_for", required = true, multiple = true)]
pub struct WriteFor {
    /// A key file (from `keepsake keygen --out`); repeatable.
    #[arg(long, value_name = "KEYFILE")]
    pub key_file: Vec<PathBuf>,
    /// The name of an environment variable holding a passphrase that will
    /// open the archive (Argon2id, 64 MiB, 3 passes).
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// An X25519 recipient, `keepsake1...` (from `keepsake keygen --x25519`); repeatable.
    #[arg(long, value_name = "RECIPIENT")]
    pub recipient: Vec<String>,
}

impl WriteFor {
    /// Reads every key given, one recipient each.
    pub fn recipients(&self) -> Result<Vec<Recipient>, Failure> {
        let mut out = Vec::new();
        for path in &self.key_file {
            out.push(Recipient::raw_key(read_new_key(path)?));
        }
        if let Some(var) = &self.passphrase_env {
            out.push(Recipient::passphrase(
                passphrase_from_env(var)?,
                Argon2Params::DEFAULT,
            ));
        }
        for text in &self.recipient {
            out.push(Recipient::x25519(parse_recipient(text)?));
        }
        Ok(out)
    }
}

/// Reads a key file that a new archive or slot will be made for: raw bytes
/// that do not look random are refused (spec §4.5.5), since a guessable raw
/// key can be found offline at one fast hash per guess.
pub fn read_new_key(path: &Path) -> Result<keepsake::ArchiveKey, Failure> {
    let (key, form) = super::read_key_file(path)?;
    match form {
        keepsake::KeyFileForm::Implausible(why) => Err(Failure::library(
            keepsake::Error::InvalidKey {
                reason: format!(
                    "{why}; a new archive is never made for such a key (for a phrase a person remembers, use --passphrase-env)"
                ),
            },
            Direction::Reading,
        )
        .context(format!("key file {}", path.display()))),
        _ => Ok(key),
    }
}

fn key_failure(error: keepsake::Error, context: String) -> Failure {
    Failure::library(error, Direction::Reading).context(context)
}

/// Parses a `keepsake1...` recipient.
pub fn parse_recipient(text: &str) -> Result<X25519Recipient, Failure> {
    text.parse()
        .map_err(|error| key_failure(error, format!("recipient {text}")))
}

/// Parses a `keepsakesig1...` signer.
pub fn parse_signer(text: &str) -> Result<Signer, Failure> {
    text.parse()
        .map_err(|error| key_failure(error, format!("signer {text}")))
}

/// Reads a passphrase from the environment variable `var`.
pub fn passphrase_from_env(var: &str) -> Result<Passphrase, Failure> {
    let value = std::env::var(var).map_err(|_| {
        Failure::usage(format!(
            "the environment variable {var} is not set, or is not valid UTF-8"
        ))
        .hint("set it to the passphrase, e.g. `read -rs KEEPSAKE_PASSPHRASE; export KEEPSAKE_PASSPHRASE`")
    })?;
    Passphrase::new(value)
        .map_err(|error| key_failure(error, format!("environment variable {var}")))
}

/// Reads a small secret text file.
fn read_secret_text(path: &Path, what: &str) -> Result<Zeroizing<String>, Failure> {
    let file =
        File::open(path).map_err(|error| Failure::io(&format!("read {what}"), path, &error))?;
    let mut contents = Zeroizing::new(Vec::new());
    file.take(SECRET_FILE_MAX + 1)
        .read_to_end(&mut contents)
        .map_err(|error| Failure::io(&format!("read {what}"), path, &error))?;
    if contents.len() as u64 > SECRET_FILE_MAX {
        return Err(Failure::library(
            keepsake::Error::InvalidKey {
                reason: format!("it is over {SECRET_FILE_MAX} bytes long"),
            },
            Direction::Reading,
        )
        .context(format!("{what} {}", path.display())));
    }
    let text = String::from_utf8(std::mem::take(&mut *contents)).map_err(|_| {
        Failure::library(
            keepsake::Error::InvalidKey {
                reason: "it is not UTF-8 text".into(),
            },
            Direction::Reading,
        )
        .context(format!("{what} {}", path.display()))
    })?;
    Ok(Zeroizing::new(text))
}

/// Reads an X25519 identity file.
pub fn read_identity(path: &Path) -> Result<X25519Identity, Failure> {
    let text = read_secret_text(path, "identity file")?;
    X25519Identity::from_text(&text)
        .map_err(|error| key_failure(error, format!("identity file {}", path.display())))
}

/// Reads an Ed25519 signing key file.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, Failure> {
    let text = read_secret_text(path, "signing key file")?;
    SigningKey::from_text(&text)
        .map_err(|error| key_failure(error, format!("signing key file {}", path.display())))
}

/// Writes a secret file readable by its owner only: to a temporary file in
/// the same directory, renamed to `path` once complete; never replaces a file.
pub fn write_secret_file(path: &Path, contents: &str) -> Result<(), Failure> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(exists(path));
    }
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    // Temporary files are created readable by their owner only (0600).
    let mut temp = tempfile::Builder::new()
        .prefix(".keepsake-")
        .suffix(".partial")
        .tempfile_in(directory)
        .map_err(|error| Failure::io("create key file in", directory, &error))?;
    temp.write_all(contents.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|error| Failure::io("write key file", path, &error))?;
    temp.persist_noclobber(path).map_err(|error| {
        if error.error.kind() == ErrorKind::AlreadyExists {
            exists(path)
        } else {
            Failure::io("write key file", path, &error.error)
        }
    })?;
    Ok(())
}

fn exists(path: &Path) -> Failure {
    Failure::new(
        FAILURE,
        "exists",
        format!(
            "{} already exists; keygen never overwrites a key file",
            path.display()
        ),
    )
    .hint("choose another --out, or delete the old key once no archive needs it")
}

/// Whether the archive's writer is known (spec §11.3), warning on stderr
/// when it is not: anyone who knows the recipient string can write an
/// archive that an X25519 identity opens. `trusted` is the signer the command
/// required and checked, if any.
pub(crate) fn check_sender(
    opened_with: OpenedWith,
    signature: &SignatureStatus,
    trusted: Option<&Signer>,
) -> bool {
    let authenticated = sender_authenticated(opened_with, signature, trusted);
    if !authenticated {
        eprintln!(
            "keepsake: warning: this archive opened with an X25519 identity, whose recipient string anyone may know: \
             nothing shows who wrote it (signature: {}). Require a signer you trust with --trusted-signer.",
            signature.describe()
        );
    }
    authenticated
}
