//! Vectors for repeated message ids and repeated consent records (spec
//! §6.3.4 rules 4 and 6): a reader accepts both, and an importer resolves
//! them by one rule each, which the descriptions state and the SQLite
//! adapter's tests check against these files.

use keepsake::body::records::{ConsentEntityType, ConsentState, ConversationKind};

use super::{
    Build, KEY, MINUTE_NS, T1, Vector, cons, consent, conv, conversation, message, msg, small,
};

/// The conversation of the repeated-message vector.
pub const DUPLICATE_CONVERSATION: &[u8] = b"\x03group:duplicates";
/// The message id that appears twice.
pub const DUPLICATE_MESSAGE_ID: &[u8] = b"m:twice";
/// The entity whose consent appears three times.
pub const DUPLICATE_CONSENT_ENTITY: &str = "0xc0ffee";

pub(super) fn vectors(out: &mut Vec<Vector>) {
    let mut build = Build::new("message-id-repeated", &[KEY], &small());
    build.batch(&[
        conv(conversation(
            DUPLICATE_CONVERSATION,
            ConversationKind::Group,
            Some("Duplicates"),
        )),
        msg(message(
            DUPLICATE_MESSAGE_ID,
            DUPLICATE_CONVERSATION,
            T1,
            "the first copy, which an importer keeps",
        )),
        msg(message(
            b"m:once",
            DUPLICATE_CONVERSATION,
            T1 + MINUTE_NS,
            "between",
        )),
    ]);
    build.batch(&[msg(message(
        DUPLICATE_MESSAGE_ID,
        DUPLICATE_CONVERSATION,
        T1 + 2 * MINUTE_NS,
        "the second copy, in a later batch, which an importer skips",
    ))]);
    out.push(build.finish().success(
        "two Message records with the same id, in different batches and with different content: a reader MUST accept it and release both; an importer keeps the first and counts the second as skipped",
    ));

    let at = |minutes: i64, state: ConsentState| {
        let mut record = consent(ConsentEntityType::Inbox, DUPLICATE_CONSENT_ENTITY, state);
        record.updated_at_ns += minutes * MINUTE_NS;
        cons(record)
    };
    let mut build = Build::new("consent-repeated", &[KEY], &small());
    build.batch(&[
        at(1, ConsentState::Allowed),
        at(5, ConsentState::Denied),
        at(3, ConsentState::Allowed),
    ]);
    build.batch(&[at(5, ConsentState::Allowed)]);
    out.push(build.finish().success(
        "four Consent records for one entity, updated at +1, +5, +3 and +5 minutes, allowed, denied, allowed, allowed: a reader releases all four; an importer keeps the one with the greatest updated_at_ns, the first in archive order among equals: denied at +5",
    ));
}
