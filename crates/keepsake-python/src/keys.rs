//! Keys: what an archive is written for (key slots) and opened with. A key
//! argument is one key or a list of them: `bytes` (a raw key: its 32 bytes,
//! or the 64 hexadecimal characters of a key file), a [`Passphrase`], an
//! [`X25519Recipient`] (writing only) or an [`X25519Identity`] (reading; for
//! writing, its recipient).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use keepsake::{ArchiveKey, Argon2Params, Identity, Recipient};

use crate::errors::{IntoPy, InvalidInputError};

/// A passphrase, stretched with Argon2id for the slot it makes. Never shown
/// by `repr`; wiped from memory when freed.
#[pyclass(frozen, module = "keepsake")]
pub struct Passphrase {
    passphrase: keepsake::Passphrase,
    params: Argon2Params,
}

#[pymethods]
impl Passphrase {
    /// `Passphrase(text, *, memory_kib=65536, passes=3, lanes=1)`: the Argon2id
    /// cost of the slots it writes (readers compute at most 262144 KiB, 10
    /// passes, 4 lanes; writers use at least 19456 KiB and 2 passes).
    #[new]
    #[pyo3(signature = (passphrase, *, memory_kib=None, passes=None, lanes=None))]
    fn new(
        passphrase: String,
        memory_kib: Option<u32>,
        passes: Option<u32>,
        lanes: Option<u32>,
    ) -> PyResult<Self> {
        let default = Argon2Params::DEFAULT;
        let params = Argon2Params {
            m_cost: memory_kib.unwrap_or(default.m_cost),
            t_cost: passes.unwrap_or(default.t_cost),
            p_cost: lanes.unwrap_or(default.p_cost),
        };
        params.check().map_err(|error| {
            InvalidInputError::new_err(format!("the Argon2 parameters are out of range: {error}"))
        })?;
        Ok(Passphrase {
            passphrase: keepsake::Passphrase::new(passphrase).py()?,
            params,
        })
    }

    fn __repr__(&self) -> &'static str {
        "Passphrase(<redacted>)"
    }
}

/// An X25519 identity: the secret key that opens the slots of its
/// recipient. Text form `KEEPSAKE-SECRET-KEY-1...`; never shown by `repr`.
#[pyclass(frozen, module = "keepsake")]
pub struct X25519Identity(keepsake::X25519Identity);

#[pymethods]
impl X25519Identity {
    /// From the text form, or an identity file's contents.
    #[new]
    fn new(text: &str) -> PyResult<Self> {
        keepsake::X25519Identity::from_text(text)
            .py()
            .map(X25519Identity)
    }

    /// A new identity from the system's generator.
    #[staticmethod]
    fn generate() -> Self {
        X25519Identity(keepsake::X25519Identity::generate())
    }

    /// The recipient whose slots this identity opens.
    #[getter]
    fn recipient(&self) -> X25519Recipient {
        X25519Recipient(self.0.recipient())
    }

    /// The secret's text form: keep it as secret as the key itself.
    fn to_text(&self) -> String {
        self.0.to_text().as_str().to_owned()
    }

    fn __repr__(&self) -> String {
        format!(
            "X25519Identity(<redacted>, recipient={})",
            self.0.recipient()
        )
    }
}

/// An X25519 recipient: the public key an archive can be written for.
/// Text form `keepsake1...`.
#[pyclass(frozen, eq, module = "keepsake")]
#[derive(PartialEq)]
pub struct X25519Recipient(keepsake::X25519Recipient);

#[pymethods]
impl X25519Recipient {
    /// From the text form `keepsake1...`.
    #[new]
    fn new(text: &str) -> PyResult<Self> {
        text.parse().py().map(X25519Recipient)
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!("X25519Recipient({:?})", self.0.to_string())
    }
}

/// An Ed25519 signing key: archives written with it carry its signature,
/// and readers report its signer (`keepsakesig1...`). Text form
/// `KEEPSAKE-SIGNING-KEY-1...`; never shown by `repr`.
#[pyclass(frozen, module = "keepsake")]
pub struct SigningKey(pub(crate) keepsake::SigningKey);

#[pymethods]
impl SigningKey {
    /// From the text form, or a signing key file's contents.
    #[new]
    fn new(text: &str) -> PyResult<Self> {
        keepsake::SigningKey::from_text(text).py().map(SigningKey)
    }

    /// A new key from the system's generator.
    #[staticmethod]
    fn generate() -> Self {
        SigningKey(keepsake::SigningKey::generate())
    }

    /// The public key that verifies its signatures, `keepsakesig1...`.
    #[getter]
    fn signer(&self) -> String {
        self.0.signer().to_string()
    }

    /// The secret's text form: keep it as secret as the key itself.
    fn to_text(&self) -> String {
        self.0.to_text().as_str().to_owned()
    }

    fn __repr__(&self) -> String {
        format!("SigningKey(<redacted>, signer={})", self.0.signer())
    }
}

/// The keys of a key argument: one key, or a list or tuple of them.
fn each_key<'py>(key: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if key.is_instance_of::<PyList>() || key.is_instance_of::<PyTuple>() {
        let keys: Vec<Bound<'py, PyAny>> = key.try_iter()?.collect::<PyResult<_>>()?;
        if keys.is_empty() {
            return Err(InvalidInputError::new_err("the list of keys is empty"));
        }
        return Ok(keys);
    }
    Ok(vec![key.clone()])
}

fn raw_key(key: &Bound<'_, PyAny>) -> PyResult<Option<ArchiveKey>> {
    match key.cast::<PyBytes>() {
        Ok(bytes) => ArchiveKey::from_key_file(bytes.as_bytes()).py().map(Some),
        Err(_) => Ok(None),
    }
}

fn not_a_key(key: &Bound<'_, PyAny>, what: &str) -> PyErr {
    let name = key
        .get_type()
        .name()
        .map(|name| name.to_string())
        .unwrap_or_default();
    InvalidInputError::new_err(format!("a key here is {what}, not {name}"))
}

/// The key slots a key argument asks for.
pub(crate) fn recipients(key: &Bound<'_, PyAny>) -> PyResult<Vec<Recipient>> {
    each_key(key)?
        .iter()
        .map(|key| {
            if let Some(raw) = raw_key(key)? {
                return Ok(Recipient::raw_key(raw));
            }
            if let Ok(passphrase) = key.cast::<Passphrase>() {
                let passphrase = passphrase.get();
                return Ok(Recipient::passphrase(
                    passphrase.passphrase.clone(),
                    passphrase.params,
                ));
            }
            if let Ok(recipient) = key.cast::<X25519Recipient>() {
                return Ok(Recipient::x25519(recipient.get().0));
            }
            if let Ok(identity) = key.cast::<X25519Identity>() {
                return Ok(Recipient::x25519(identity.get().0.recipient()));
            }
            Err(not_a_key(
                key,
                "bytes (a raw key), a Passphrase, an X25519Recipient or an X25519Identity",
            ))
        })
        .collect()
}

/// The identities a key argument offers to open an archive.
pub(crate) fn identities(key: &Bound<'_, PyAny>) -> PyResult<Vec<Identity>> {
    each_key(key)?
        .iter()
        .map(|key| {
            if let Some(raw) = raw_key(key)? {
                return Ok(raw.into());
            }
            if let Ok(passphrase) = key.cast::<Passphrase>() {
                return Ok(passphrase.get().passphrase.clone().into());
            }
            if let Ok(identity) = key.cast::<X25519Identity>() {
                return Ok(identity.get().0.clone().into());
            }
            Err(not_a_key(
                key,
                "bytes (a raw key), a Passphrase or an X25519Identity",
            ))
        })
        .collect()
}
