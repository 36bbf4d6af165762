//! Records as Python dicts: the JSON form of `test-vectors/README.md` with
//! Python's own types, `bytes` for byte strings and `int` for timestamps.
//! The `type` key names the kind (`conversation`, `message`, `consent`);
//! enumerations are the words of `keepsake::json::Word`.

use std::collections::BTreeMap;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use keepsake::json::Word;
use keepsake::{Consent, Conversation, Message, Record};

use crate::errors::{IntoPy, InvalidInputError};

/// A record as a dict.
pub(crate) fn to_dict<'py>(py: Python<'py>, record: &Record) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let bytes = |value: &[u8]| PyBytes::new(py, value);
    match record {
        Record::Conversation(c) => {
            dict.set_item("type", "conversation")?;
            dict.set_item("id", bytes(&c.id))?;
            dict.set_item("kind", c.kind.word())?;
            dict.set_item("created_at_ns", c.created_at_ns)?;
            dict.set_item("name", &c.name)?;
            dict.set_item("dm_peer", &c.dm_peer)?;
            dict.set_item("added_by", &c.added_by)?;
            dict.set_item("member_ids", &c.member_ids)?;
            dict.set_item("metadata", &c.metadata)?;
            dict.set_item("last_message_ns", c.last_message_ns)?;
        }
        Record::Message(m) => {
            dict.set_item("type", "message")?;
            dict.set_item("id", bytes(&m.id))?;
            dict.set_item("conversation_id", bytes(&m.conversation_id))?;
            dict.set_item("sender_id", &m.sender_id)?;
            dict.set_item("sender_installation_id", bytes(&m.sender_installation_id))?;
            dict.set_item("sent_at_ns", m.sent_at_ns)?;
            dict.set_item("kind", m.kind.word())?;
            dict.set_item("content_type", &m.content_type)?;
            dict.set_item("content", bytes(&m.content))?;
            dict.set_item("delivery_status", m.delivery_status.word())?;
            dict.set_item("reference_id", m.reference_id.as_deref().map(bytes))?;
            dict.set_item("expires_at_ns", m.expires_at_ns)?;
        }
        Record::Consent(c) => {
            dict.set_item("type", "consent")?;
            dict.set_item("entity_type", c.entity_type.word())?;
            dict.set_item("entity", &c.entity)?;
            dict.set_item("state", c.state.word())?;
            dict.set_item("updated_at_ns", c.updated_at_ns)?;
        }
    }
    Ok(dict)
}

/// A record from a dict (or any mapping). Keys whose value may be `None` may
/// be left out; any other key must be there, and no unknown key may be.
pub(crate) fn from_dict(record: &Bound<'_, PyAny>) -> PyResult<Record> {
    let dict = record.cast::<PyDict>().map_err(|_| {
        InvalidInputError::new_err(format!(
            "a record is a dict with a \"type\" key, not {}",
            type_name(record)
        ))
    })?;
    let mut fields = Fields {
        dict,
        kind: "record",
        used: vec!["type"],
    };
    let kind: String = fields.required("type")?;
    let record = match kind.as_str() {
        "conversation" => {
            fields.kind = "conversation";
            Record::Conversation(Conversation {
                id: fields.required("id")?,
                kind: fields.word("kind")?,
                created_at_ns: fields.required("created_at_ns")?,
                name: fields.optional("name")?,
                dm_peer: fields.optional("dm_peer")?,
                added_by: fields.optional("added_by")?,
                member_ids: fields.required("member_ids")?,
                metadata: fields.required::<BTreeMap<String, String>>("metadata")?,
                last_message_ns: fields.optional("last_message_ns")?,
            })
        }
        "message" => {
            fields.kind = "message";
            Record::Message(Message {
                id: fields.required("id")?,
                conversation_id: fields.required("conversation_id")?,
                sender_id: fields.required("sender_id")?,
                sender_installation_id: fields.required("sender_installation_id")?,
                sent_at_ns: fields.required("sent_at_ns")?,
                kind: fields.word("kind")?,
                content_type: fields.required("content_type")?,
                content: fields.required("content")?,
                delivery_status: fields.word("delivery_status")?,
                reference_id: fields.optional("reference_id")?,
                expires_at_ns: fields.optional("expires_at_ns")?,
            })
        }
        "consent" => {
            fields.kind = "consent";
            Record::Consent(Consent {
                entity_type: fields.word("entity_type")?,
                entity: fields.required("entity")?,
                state: fields.word("state")?,
                updated_at_ns: fields.required("updated_at_ns")?,
            })
        }
        other => {
            return Err(InvalidInputError::new_err(format!(
                "a record's \"type\" is \"conversation\", \"message\" or \"consent\", not {other:?}"
            )));
        }
    };
    fields.finish()?;
    Ok(record)
}

/// The canonical encoding of a record (a dict): its bytes as they stand in
/// a record batch (spec §6.3.1), which the test vectors' hashes cover.
#[pyfunction]
pub(crate) fn encode_record<'py>(
    py: Python<'py>,
    record: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let record = from_dict(record)?;
    let encoded = keepsake::body::records::encode_record(&record).py()?;
    Ok(PyBytes::new(py, &encoded))
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|name| name.to_string())
        .unwrap_or_else(|_| "this".to_owned())
}

/// The keys of one record dict, read one by one.
struct Fields<'a, 'py> {
    dict: &'a Bound<'py, PyDict>,
    kind: &'static str,
    used: Vec<&'static str>,
}

impl<'py> Fields<'_, 'py> {
    fn value(&mut self, name: &'static str) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.used.push(name);
        Ok(self.dict.get_item(name)?.filter(|value| !value.is_none()))
    }

    fn extract<T: FromPyObjectOwned<'py>>(
        &self,
        name: &str,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<T> {
        value.extract::<T>().map_err(|error| {
            let error: PyErr = error.into();
            InvalidInputError::new_err(format!(
                "a {} record's \"{name}\" holds {}: {error}",
                self.kind,
                type_name(value)
            ))
        })
    }

    fn required<T: FromPyObjectOwned<'py>>(&mut self, name: &'static str) -> PyResult<T> {
        let value = self.value(name)?.ok_or_else(|| {
            InvalidInputError::new_err(format!("a {} record needs \"{name}\"", self.kind))
        })?;
        self.extract(name, &value)
    }

    fn optional<T: FromPyObjectOwned<'py>>(&mut self, name: &'static str) -> PyResult<Option<T>> {
        self.value(name)?
            .map(|value| self.extract(name, &value))
            .transpose()
    }

    fn word<T: Word>(&mut self, name: &'static str) -> PyResult<T> {
        let word: String = self.required(name)?;
        T::from_word(&word).ok_or_else(|| {
            InvalidInputError::new_err(format!(
                "a {} record's \"{name}\" is one of {:?}, not {word:?}",
                self.kind,
                T::WORDS
            ))
        })
    }

    /// Refuses keys no field took: a misspelt key would otherwise vanish.
    fn finish(self) -> PyResult<()> {
        for key in self.dict.keys() {
            let known = key
                .extract::<String>()
                .is_ok_and(|key| self.used.contains(&key.as_str()));
            if !known {
                return Err(InvalidInputError::new_err(format!(
                    "a {} record has no field {}",
                    self.kind,
                    key.repr()?
                )));
            }
        }
        Ok(())
    }
}
