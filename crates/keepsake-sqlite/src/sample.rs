//! Realistic, deterministic sample data for trying Keepsake and testing it:
//! groups and DMs in several languages and scripts, replies, reactions,
//! attachments, disappearing messages, failed sends, membership changes and
//! consent decisions.
//!
//! The same options always produce the same database contents: everything
//! comes from a generator seeded with [`SampleOptions::seed`], and timestamps
//! fall in the year before a fixed date, never the current time.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use rand::distributions::{Distribution, WeightedIndex};
use rand::seq::index;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::DbResult;
use crate::rows::{InsertMode, RecordInserter, hex};
use crate::schema::open_database;
use keepsake::body::records::{
    Consent, ConsentEntityType, ConsentState, Conversation, ConversationKind, DeliveryStatus,
    Message, MessageKind, Record,
};
use keepsake::error::{Error, Result};

/// The end of the sample's time span: 2025-06-01T00:00:00Z, in nanoseconds.
pub const SAMPLE_END_NS: i64 = 1_748_736_000 * NS_PER_SECOND;

/// The sample's time span: the 365 days before [`SAMPLE_END_NS`].
pub const SAMPLE_SPAN_NS: i64 = 365 * NS_PER_DAY;

const NS_PER_SECOND: i64 = 1_000_000_000;
const NS_PER_DAY: i64 = 86_400 * NS_PER_SECOND;

/// The most conversations a sample holds: each costs memory while generating.
pub const MAX_CONVERSATIONS: u64 = 1_000_000;

/// How much sample data to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleOptions {
    /// Messages in total, spread unevenly over the conversations.
    pub messages: u64,
    /// Conversations, about a third of them DMs; at most [`MAX_CONVERSATIONS`].
    pub conversations: u64,
    /// The seed: the same seed gives the same data.
    pub seed: u64,
    /// What the messages hold.
    pub shape: SampleShape,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            messages: 2000,
            conversations: 20,
            seed: 1,
            shape: SampleShape::Mixed,
        }
    }
}

/// What the messages of a sample hold, for trying Keepsake on data that
/// compresses well, badly, or in between.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SampleShape {
    /// Mostly short texts, with reactions, replies, read receipts and about
    /// one small attachment (under 4 KB) in twenty messages.
    #[default]
    Mixed,
    /// Short texts, reactions and replies only: no attachments.
    TextHeavy,
    /// A quarter of the messages are attachments of 5 to 200 KB: three in
    /// four are random bytes, as photos and videos are (already compressed),
    /// the others text documents that compress well. About 25 MB per
    /// thousand messages.
    AttachmentHeavy,
}

/// What [`write_sample`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleReport {
    /// Conversations written.
    pub conversations: u64,
    /// Messages written.
    pub messages: u64,
    /// Consent records written.
    pub consent: u64,
}

/// Writes sample data into the database at `db` (created, with the reference
/// schema, if needed), in one transaction.
///
/// Its ids are random, so it can be added to a database that holds other
/// data; writing the same seed twice into one database fails on the
/// duplicate ids and changes nothing.
pub fn write_sample(db: &Path, options: &SampleOptions) -> Result<SampleReport> {
    if options.conversations > MAX_CONVERSATIONS {
        return Err(Error::invalid(format!(
            "a sample holds at most {MAX_CONVERSATIONS} conversations, not {}",
            options.conversations
        )));
    }
    if options.conversations == 0 && options.messages > 0 {
        return Err(Error::invalid(
            "sample messages need at least one conversation to go into",
        ));
    }
    let mut conn = open_database(db)?;
    let transaction = conn.transaction().db()?;
    let mut report = SampleReport {
        conversations: 0,
        messages: 0,
        consent: 0,
    };
    {
        let mut inserter = RecordInserter::new(&transaction, InsertMode::Fresh)?;
        generate(options, &mut |record| {
            inserter.insert(record)?;
            match record {
                Record::Conversation(_) => report.conversations += 1,
                Record::Message(_) => report.messages += 1,
                Record::Consent(_) => report.consent += 1,
            }
            Ok(())
        })?;
    }
    transaction.commit().db()?;
    Ok(report)
}

/// Generates the sample's records in dependency order, passing each to
/// `emit`. Memory grows with the largest conversation's message count only
/// by one timestamp per message.
fn generate(options: &SampleOptions, emit: &mut dyn FnMut(&Record) -> Result<()>) -> Result<()> {
    let mut rng = ChaCha20Rng::seed_from_u64(options.seed);
    let start_ns = SAMPLE_END_NS - SAMPLE_SPAN_NS;
    let people = People::new(&mut rng, options.conversations);

    let weights: Vec<f64> = (0..options.conversations)
        .map(|_| rng.gen_range(1.0f64..10.0).powi(2))
        .collect();
    let mut counts = vec![0u64; weights.len()];
    if options.messages > 0 {
        let choose = WeightedIndex::new(&weights)
            .map_err(|error| Error::invalid(format!("sample weights are invalid: {error}")))?;
        for _ in 0..options.messages {
            counts[choose.sample(&mut rng)] += 1;
        }
    }

    let mut consent = Vec::new();
    let mut dm_peers = Vec::new();
    for (position, &count) in counts.iter().enumerate() {
        // The first conversation is a group and the second a DM, so that
        // even a small sample has both.
        let is_dm = match position {
            0 => false,
            1 => true,
            _ => rng.gen_bool(0.35),
        };
        let created_at_ns = rng.gen_range(start_ns..SAMPLE_END_NS - 7 * NS_PER_DAY);
        let mut times: Vec<i64> = (0..count)
            .map(|_| rng.gen_range(created_at_ns..SAMPLE_END_NS))
            .collect();
        times.sort_unstable();
        if let Some(first) = times.first_mut() {
            *first = created_at_ns;
        }

        let members = if is_dm {
            let peer = rng.gen_range(0..people.contacts.len());
            dm_peers.push(peer);
            vec![SELF, peer + 1]
        } else {
            let size = rng.gen_range(2..=people.contacts.len().min(11));
            let mut members = vec![SELF];
            members.extend(
                index::sample(&mut rng, people.contacts.len(), size)
                    .into_iter()
                    .map(|contact| contact + 1),
            );
            members
        };
        // Who created the conversation and added this installation to it;
        // `None` when this installation created it.
        let creator = if rng.gen_bool(0.3) {
            SELF
        } else {
            members[rng.gen_range(1..members.len())]
        };
        let disappear_ns = rng
            .gen_bool(0.2)
            .then(|| [NS_PER_DAY, 7 * NS_PER_DAY, 90 * NS_PER_DAY][rng.gen_range(0..3)]);
        let conversation = Conversation {
            id: random_bytes(&mut rng, 16),
            kind: if is_dm {
                ConversationKind::Dm
            } else {
                ConversationKind::Group
            },
            created_at_ns,
            name: if is_dm {
                None
            } else {
                match rng.gen_range(0..20) {
                    0 => None,
                    1 => Some(String::new()),
                    _ => Some(pick(&mut rng, GROUP_NAMES).to_owned()),
                }
            },
            dm_peer: is_dm.then(|| people.inbox(members[1]).to_owned()),
            added_by: (creator != SELF).then(|| people.inbox(creator).to_owned()),
            member_ids: members
                .iter()
                .map(|&member| people.inbox(member).to_owned())
                .collect(),
            metadata: conversation_metadata(&mut rng, is_dm, disappear_ns),
            last_message_ns: times.last().copied(),
        };
        emit(&Record::Conversation(conversation.clone()))?;

        let mut thread = Thread {
            people: &people,
            shape: options.shape,
            conversation,
            members,
            creator,
            disappear_ns,
            recent: VecDeque::with_capacity(RECENT),
        };
        for (nth, &sent_at_ns) in times.iter().enumerate() {
            // A group starts with its creator adding the members.
            let founding = nth == 0 && !is_dm;
            emit(&Record::Message(
                thread.message(&mut rng, sent_at_ns, founding),
            ))?;
        }
        let conversation = thread.conversation;

        consent.push(Consent {
            entity_type: ConsentEntityType::Conversation,
            entity: hex(&conversation.id),
            state: consent_state(&mut rng),
            updated_at_ns: rng.gen_range(created_at_ns..SAMPLE_END_NS),
        });
    }

    dm_peers.sort_unstable();
    dm_peers.dedup();
    for (contact, person) in people.contacts.iter().enumerate() {
        let is_dm_peer = dm_peers.binary_search(&contact).is_ok();
        if is_dm_peer || rng.gen_bool(0.2) {
            consent.push(Consent {
                entity_type: ConsentEntityType::Inbox,
                entity: person.inbox.clone(),
                state: consent_state(&mut rng),
                updated_at_ns: rng.gen_range(start_ns..SAMPLE_END_NS),
            });
        }
        if rng.gen_bool(0.3) {
            consent.push(Consent {
                entity_type: ConsentEntityType::Address,
                entity: person.address.clone(),
                state: consent_state(&mut rng),
                updated_at_ns: rng.gen_range(start_ns..SAMPLE_END_NS),
            });
        }
    }
    for record in consent {
        emit(&Record::Consent(record))?;
    }
    Ok(())
}

/// How many recent message ids a conversation remembers for replies and reactions.
const RECENT: usize = 32;

/// The index of this installation's own inbox in [`People`].
const SELF: usize = 0;

/// One inbox: its id, an account address, and its installation.
struct Person {
    inbox: String,
    address: String,
    installation: Vec<u8>,
}

/// This installation's owner and their contacts.
struct People {
    me: Person,
    contacts: Vec<Person>,
}

impl People {
    fn new(rng: &mut ChaCha20Rng, conversations: u64) -> Self {
        let contacts = usize::try_from(conversations.saturating_mul(3))
            .unwrap_or(usize::MAX)
            .clamp(12, 400);
        let mut person = || Person {
            inbox: hex(&random_bytes(rng, 32)),
            address: format!("0x{}", hex(&random_bytes(rng, 20))),
            installation: random_bytes(rng, 32),
        };
        People {
            me: person(),
            contacts: (0..contacts).map(|_| person()).collect(),
        }
    }

    /// A person by member number: [`SELF`] or a contact's index plus one.
    fn person(&self, member: usize) -> &Person {
        match member.checked_sub(1) {
            None => &self.me,
            Some(contact) => &self.contacts[contact],
        }
    }

    fn inbox(&self, member: usize) -> &str {
        &self.person(member).inbox
    }
}

/// A conversation being filled with messages.
struct Thread<'p> {
    people: &'p People,
    shape: SampleShape,
    conversation: Conversation,
    /// Member numbers (see [`People::person`]), [`SELF`] first.
    members: Vec<usize>,
    creator: usize,
    disappear_ns: Option<i64>,
    /// The latest message ids, for replies and reactions to refer to.
    recent: VecDeque<Vec<u8>>,
}

impl Thread<'_> {
    /// The next message, sent at `sent_at_ns`; `founding` for the membership
    /// change that starts a group.
    fn message(&mut self, rng: &mut ChaCha20Rng, sent_at_ns: i64, founding: bool) -> Message {
        let people = self.people;
        let members = &self.members;
        let sender = if founding {
            self.creator
        } else {
            members[rng.gen_range(0..members.len())]
        };
        let id = random_bytes(rng, 32);
        let mut kind = MessageKind::Application;
        let mut reference_id = None;
        let roll = rng.gen_range(0..100);
        let is_group = self.conversation.kind == ConversationKind::Group;
        let (content_type, content) = if founding || (is_group && roll < 4) {
            kind = MessageKind::MembershipChange;
            let added = members[rng.gen_range(1..members.len())];
            let removed = rng.gen_bool(0.2).then(|| hex(&random_bytes(rng, 32)));
            let update = serde_json::json!({
                "initiated_by_inbox_id": people.inbox(sender),
                "added_inboxes": if founding {
                    members.iter().map(|&member| people.inbox(member)).collect::<Vec<_>>()
                } else {
                    vec![people.inbox(added)]
                },
                "removed_inboxes": removed.into_iter().collect::<Vec<_>>(),
            });
            (
                "xmtp.org/group_updated:1.0",
                update.to_string().into_bytes(),
            )
        } else if self.shape == SampleShape::AttachmentHeavy && roll < 29 {
            ("xmtp.org/attachment:1.0", large_attachment(rng))
        } else if roll < 14 && !self.recent.is_empty() {
            let target = self.recent[rng.gen_range(0..self.recent.len())].clone();
            let reaction = serde_json::json!({
                "reference": hex(&target),
                "action": if rng.gen_bool(0.9) { "added" } else { "removed" },
                "schema": "unicode",
                "content": pick(rng, REACTIONS),
            });
            reference_id = Some(target);
            ("xmtp.org/reaction:1.0", reaction.to_string().into_bytes())
        } else if roll < 22 && !self.recent.is_empty() {
            reference_id = Some(self.recent[rng.gen_range(0..self.recent.len())].clone());
            ("xmtp.org/reply:1.0", sample_text(rng).into_bytes())
        } else if roll < 27 && self.shape == SampleShape::Mixed {
            ("xmtp.org/attachment:1.0", sample_attachment(rng))
        } else if roll < 30 {
            // A read receipt carries no content at all.
            ("xmtp.org/readReceipt:1.0", Vec::new())
        } else {
            ("xmtp.org/text:1.0", sample_text(rng).into_bytes())
        };
        let delivery_status = if sender != SELF {
            DeliveryStatus::Published
        } else {
            match rng.gen_range(0..100) {
                0..=5 => DeliveryStatus::Unpublished,
                6..=9 => DeliveryStatus::Failed,
                _ => DeliveryStatus::Published,
            }
        };
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(id.clone());
        Message {
            id,
            conversation_id: self.conversation.id.clone(),
            sender_id: people.inbox(sender).to_owned(),
            sender_installation_id: people.person(sender).installation.clone(),
            sent_at_ns,
            kind,
            content_type: content_type.to_owned(),
            content,
            delivery_status,
            reference_id,
            expires_at_ns: self
                .disappear_ns
                .map(|after| sent_at_ns.saturating_add(after)),
        }
    }
}

fn conversation_metadata(
    rng: &mut ChaCha20Rng,
    is_dm: bool,
    disappear_ns: Option<i64>,
) -> BTreeMap<String, String> {
    let mut metadata = BTreeMap::new();
    if !is_dm {
        if rng.gen_bool(0.7) {
            metadata.insert("description".to_owned(), pick(rng, DESCRIPTIONS).to_owned());
        }
        if rng.gen_bool(0.5) {
            metadata.insert(
                "image_url".to_owned(),
                format!(
                    "https://images.example.org/{}.png",
                    hex(&random_bytes(rng, 8))
                ),
            );
        }
        metadata.insert(
            "permissions".to_owned(),
            pick(rng, &["all_members", "admin_only"]).to_owned(),
        );
    }
    if let Some(after) = disappear_ns {
        metadata.insert("message_disappear_in_ns".to_owned(), after.to_string());
    }
    metadata
}

/// One to three phrases, sometimes in different languages.
fn sample_text(rng: &mut ChaCha20Rng) -> String {
    let parts = match rng.gen_range(0..10) {
        0..=6 => 1,
        7 | 8 => 2,
        _ => 3,
    };
    let mut text = String::new();
    for part in 0..parts {
        if part > 0 {
            text.push(' ');
        }
        text.push_str(pick(rng, PHRASES));
    }
    text
}

/// Bytes that look like a small image: a PNG signature, then noise.
fn sample_attachment(rng: &mut ChaCha20Rng) -> Vec<u8> {
    let mut content = b"\x89PNG\r\n\x1a\n".to_vec();
    let len = rng.gen_range(200..4000);
    content.extend(random_bytes(rng, len));
    content
}

/// An attachment of 5 to 200 KB: three times in four a photo's worth of
/// random bytes behind a JPEG signature, otherwise a text document.
fn large_attachment(rng: &mut ChaCha20Rng) -> Vec<u8> {
    let len = rng.gen_range(5_000..200_000);
    if rng.gen_bool(0.75) {
        let mut content = b"\xff\xd8\xff\xe0\0\x10JFIF\0".to_vec();
        content.extend(random_bytes(rng, len));
        return content;
    }
    let mut content = b"{\"filename\":\"notes.txt\",\"mimeType\":\"text/plain\"}\n".to_vec();
    while content.len() < len {
        content.extend_from_slice(sample_text(rng).as_bytes());
        content.push(if rng.gen_bool(0.2) { b'\n' } else { b' ' });
    }
    content
}

fn consent_state(rng: &mut ChaCha20Rng) -> ConsentState {
    match rng.gen_range(0..20) {
        0..=1 => ConsentState::Denied,
        2..=4 => ConsentState::Unknown,
        _ => ConsentState::Allowed,
    }
}

fn random_bytes(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

fn pick<'a>(rng: &mut ChaCha20Rng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

const GROUP_NAMES: &[&str] = &[
    "Weekend hikers 🥾",
    "家族",
    "فريق التصميم",
    "Équipe produit",
    "Книжный клуб",
    "Founders ☕",
    "Climbing crew 🧗‍♀️",
    "麻將 Friday",
    "משפחה",
    "Kochgruppe 🍝",
    "Board game night 🎲",
    "Release 2.0",
    "동창회",
    "Ολυμπιακός fans",
    "Lunch",
];

const DESCRIPTIONS: &[&str] = &[
    "Plans, photos and the occasional argument about routes",
    "仕事の連絡はこちらへ",
    "نقاشات المشروع والتصاميم",
    "Tout ce qui concerne la sortie du produit",
    "Only memes after 6pm 🌙",
    "Рецепты и обсуждение книг",
];

const PHRASES: &[&str] = &[
    "See you tomorrow at the station",
    "Did anyone bring the charger?",
    "Running 10 minutes late, sorry!",
    "Sounds good 👍",
    "lol",
    "ok",
    "Can you send me the address again?",
    "Happy birthday!! 🎉🎂",
    "👩‍💻 shipping it tonight",
    "On se retrouve à 19h ?",
    "Merci beaucoup, c'était génial",
    "Schöne Grüße aus München",
    "¿Quién viene el sábado?",
    "明日の会議は10時からです",
    "我们周末去爬山吧",
    "오늘 저녁 뭐 먹을까요?",
    "مرحبا، كيف حالك؟",
    "שבת שלום לכולם",
    "Отправил файлы, проверь пожалуйста",
    "कल मिलते हैं",
    "Καλημέρα σε όλους",
    "🇯🇵✈️🗻",
    "The build is green again ✅",
    "I'll pick up the keys — leave them with Ana",
    "Photos from yesterday are in the shared album 📸",
];

const REACTIONS: &[&str] = &["👍", "❤️", "😂", "🎉", "🙏", "😮", "👀", "🔥"];

#[cfg(test)]
mod tests {
    use super::*;

    fn records(options: &SampleOptions) -> Vec<Record> {
        let mut out = Vec::new();
        generate(options, &mut |record| {
            out.push(record.clone());
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn the_same_seed_gives_the_same_records_and_another_seed_does_not() {
        let options = SampleOptions::default();
        let first = records(&options);
        assert_eq!(first, records(&options));
        let other = records(&SampleOptions { seed: 2, ..options });
        assert_ne!(first, other);
    }

    #[test]
    fn the_sample_covers_every_kind_of_data() {
        let records = records(&SampleOptions::default());
        let conversations: Vec<&Conversation> = records
            .iter()
            .filter_map(|record| match record {
                Record::Conversation(c) => Some(c),
                _ => None,
            })
            .collect();
        let messages: Vec<&Message> = records
            .iter()
            .filter_map(|record| match record {
                Record::Message(m) => Some(m),
                _ => None,
            })
            .collect();
        let consent: Vec<&Consent> = records
            .iter()
            .filter_map(|record| match record {
                Record::Consent(c) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(conversations.len(), 20);
        assert_eq!(messages.len(), 2000);
        for kind in [ConversationKind::Group, ConversationKind::Dm] {
            assert!(conversations.iter().any(|c| c.kind == kind), "{kind:?}");
        }
        assert!(conversations.iter().any(|c| !c.metadata.is_empty()));
        assert!(conversations.iter().any(|c| c.dm_peer.is_some()));
        for status in [
            DeliveryStatus::Published,
            DeliveryStatus::Unpublished,
            DeliveryStatus::Failed,
        ] {
            assert!(
                messages.iter().any(|m| m.delivery_status == status),
                "{status:?}"
            );
        }
        assert!(
            messages
                .iter()
                .any(|m| m.kind == MessageKind::MembershipChange)
        );
        assert!(messages.iter().any(|m| m.reference_id.is_some()));
        assert!(messages.iter().any(|m| m.expires_at_ns.is_some()));
        assert!(messages.iter().any(|m| m.content.is_empty()));
        assert!(
            messages
                .iter()
                .any(|m| m.content_type == "xmtp.org/attachment:1.0"
                    && std::str::from_utf8(&m.content).is_err())
        );
        let texts: String = messages
            .iter()
            .filter(|m| m.content_type == "xmtp.org/text:1.0")
            .filter_map(|m| std::str::from_utf8(&m.content).ok())
            .collect();
        for (script, sample) in [
            ("emoji", '🎉'),
            ("CJK", '明'),
            ("Arabic", 'م'),
            ("Hebrew", 'ש'),
        ] {
            assert!(texts.contains(sample), "no {script} text");
        }
        for entity_type in [
            ConsentEntityType::Conversation,
            ConsentEntityType::Inbox,
            ConsentEntityType::Address,
        ] {
            assert!(
                consent.iter().any(|c| c.entity_type == entity_type),
                "{entity_type:?}"
            );
        }
        let start = SAMPLE_END_NS - SAMPLE_SPAN_NS;
        assert!(
            messages
                .iter()
                .all(|m| (start..SAMPLE_END_NS).contains(&m.sent_at_ns))
        );
    }

    #[test]
    fn sample_records_come_in_dependency_order() {
        let mut seen = std::collections::HashSet::new();
        for record in records(&SampleOptions::default()) {
            match record {
                Record::Conversation(c) => assert!(seen.insert(c.id)),
                Record::Message(m) => assert!(seen.contains(&m.conversation_id)),
                Record::Consent(_) => {}
            }
        }
    }

    /// SHA-256 over the encoded records of `SampleOptions::default()`.
    const DEFAULT_SAMPLE_SHA256: &str =
        "f8aaa78d24d280967c14ce3880739035d7926c36c160b157b419f4245dd484e4";

    fn contents(records: &[Record], content_type: &str) -> Vec<Vec<u8>> {
        records
            .iter()
            .filter_map(|record| match record {
                Record::Message(m) if m.content_type == content_type => Some(m.content.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_shape_holds_what_it_says() {
        let options = |shape| SampleOptions {
            messages: 400,
            conversations: 6,
            shape,
            ..SampleOptions::default()
        };
        let text = records(&options(SampleShape::TextHeavy));
        assert!(contents(&text, "xmtp.org/attachment:1.0").is_empty());
        assert!(contents(&text, "xmtp.org/text:1.0").len() > 200);

        let heavy = records(&options(SampleShape::AttachmentHeavy));
        let attachments = contents(&heavy, "xmtp.org/attachment:1.0");
        assert!(
            (60..140).contains(&attachments.len()),
            "{}",
            attachments.len()
        );
        assert!(
            attachments
                .iter()
                .all(|a| (5_000..200_100).contains(&a.len()))
        );
        let documents = attachments.iter().filter(|a| a.starts_with(b"{")).count();
        assert!(documents > 5 && documents < attachments.len() / 2);
        assert_ne!(text, records(&options(SampleShape::Mixed)));
    }

    #[test]
    fn the_default_sample_never_changes() {
        // Archives and tests elsewhere rely on seed 1 writing the same data in
        // every version: a new shape must not change what Mixed draws.
        use sha2::{Digest, Sha256};
        let mut digest = Sha256::new();
        for record in records(&SampleOptions::default()) {
            digest.update(keepsake::body::records::encode_record(&record).unwrap());
        }
        assert_eq!(hex(&digest.finalize()), DEFAULT_SAMPLE_SHA256);
    }

    #[test]
    fn impossible_sizes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let options = SampleOptions {
            messages: 5,
            conversations: 0,
            seed: 1,
            ..SampleOptions::default()
        };
        assert!(matches!(
            write_sample(&dir.path().join("db"), &options),
            Err(Error::InvalidInput { .. })
        ));
        let too_many = SampleOptions {
            conversations: MAX_CONVERSATIONS + 1,
            ..SampleOptions::default()
        };
        assert!(matches!(
            write_sample(&dir.path().join("db"), &too_many),
            Err(Error::InvalidInput { .. })
        ));
    }
}
