//! `keepsake rekey`: a copy of an archive under a new file key and salt, for
//! the keys named: the only way to shut a key out (spec §11.3).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use keepsake::storage::write_then_commit;

use clap::Args;
use serde::Serialize;

use keepsake::Recipient;

use super::exit::{Direction, Failure};
use super::keys::{OpenWith, WriteFor, read_signing_key};
use super::location::Archive;
use super::{Counts, Report, library_failure};

/// Whom the copy is for: one key slot per option; at least one. Keys not
/// named here open nothing of the copy.
#[derive(Debug, Clone, Args)]
#[group(id = "rekey_for", required = true, multiple = true)]
pub struct RekeyFor {
    /// A key file for the copy (from `keepsake keygen --out`); repeatable.
    #[arg(long, value_name = "KEYFILE")]
    pub to_key_file: Vec<PathBuf>,
    /// The name of an environment variable holding a passphrase for the copy
    /// (Argon2id, 64 MiB, 3 passes).
    #[arg(long, value_name = "VAR")]
    pub to_passphrase_env: Option<String>,
    /// An X25519 recipient for the copy, `keepsake1...`; repeatable.
    #[arg(long, value_name = "RECIPIENT")]
    pub to_recipient: Vec<String>,
}

impl RekeyFor {
    /// The same choice as `create`'s options make, one slot each.
    fn recipients(&self) -> Result<Vec<Recipient>, Failure> {
        WriteFor {
            key_file: self.to_key_file.clone(),
            passphrase_env: self.to_passphrase_env.clone(),
            recipient: self.to_recipient.clone(),
        }
        .recipients()
    }
}

#[derive(Serialize)]
struct RekeyJson<'a> {
    ok: bool,
    command: &'static str,
    archive: Cow<'a, str>,
    out: Cow<'a, str>,
    key_slots: usize,
    counts: Counts,
    pages: u64,
    /// The source's signature status; it is not carried over.
    source_signature: &'static str,
    signature: &'static str,
    signer: Option<String>,
    salvage_record_copied: bool,
    /// A key left out opens nothing of the copy.
    revokes: bool,
}

/// `keepsake rekey`.
pub fn rekey(
    archive: &Archive,
    out: &Archive,
    open_with: &OpenWith,
    rekey_for: &RekeyFor,
    sign_with: Option<&Path>,
) -> Result<Report, Failure> {
    archive.check_readable()?;
    let identities = open_with.identities()?;
    let recipients = rekey_for.recipients()?;
    let signing_key = sign_with.map(read_signing_key).transpose()?;
    let mut sink = out.sink(
        false,
        "rekey never replaces a file",
        "choose another --out; replace the old archive yourself once the new one is checked",
    )?;
    let source = archive.stream()?;
    let report = write_then_commit(&mut sink, |sink| {
        Ok(keepsake::rekey(source, &identities, &recipients, signing_key.as_ref(), sink)?.1)
    })
    .map_err(|error| {
        library_failure(error, Direction::Reading, format!("cannot rekey {archive}"))
            .hint(format!("nothing was written to {out}"))
    })?;
    let trailer = &report.trailer;
    let counts = Counts::from(trailer);
    let signature = match &signing_key {
        Some(key) => format!("signed by {}", key.signer()),
        None => "unsigned (give --sign-with to sign the copy)".to_owned(),
    };
    let mut human = format!(
        "wrote {}: {} under a new file key, for {} key slot{}; {signature}\n\
         keys not given with --to-* open nothing of it; the original {} is unchanged and still opens as before:\n\
         delete every copy of it to complete the revocation\n",
        out,
        if trailer.pages > 0 {
            format!("{} pages", trailer.pages)
        } else {
            counts.human()
        },
        recipients.len(),
        if recipients.len() == 1 { "" } else { "s" },
        archive,
    );
    if report.source_signature != keepsake::SignatureStatus::Unsigned && signing_key.is_none() {
        human.push_str(&format!(
            "the original was {}; the copy is not signed\n",
            report.source_signature.describe()
        ));
    }
    if report.salvage_record_copied {
        human.push_str("the original was a salvage's output: its salvage record was copied\n");
    }
    Report::new(
        human,
        &RekeyJson {
            ok: true,
            command: "rekey",
            archive: archive.name(),
            out: out.name(),
            key_slots: recipients.len(),
            counts,
            pages: trailer.pages,
            source_signature: report.source_signature.word(),
            signature: if signing_key.is_some() {
                "signed"
            } else {
                "unsigned"
            },
            signer: signing_key.as_ref().map(|key| key.signer().to_string()),
            salvage_record_copied: report.salvage_record_copied,
            revokes: true,
        },
    )
}
