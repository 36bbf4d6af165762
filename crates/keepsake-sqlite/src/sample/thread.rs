//! One conversation of the sample: who is in it, and the messages they send,
//! one at a time in the order they are sent.

use std::collections::{BTreeMap, VecDeque};

use rand::seq::index;
use rand::{Rng, RngCore};
use rand_chacha::ChaCha20Rng;

use super::times::Times;
use super::words::{DESCRIPTIONS, GROUP_NAMES, PHRASES, REACTIONS};
use super::{NS_PER_DAY, SAMPLE_END_NS, SampleShape};
use crate::rows::hex;
use keepsake::body::records::{
    ConsentState, Conversation, ConversationKind, DeliveryStatus, Message, MessageKind,
};

/// How many recent message ids a conversation remembers for replies and reactions.
const RECENT: usize = 32;

/// The index of this installation's own inbox in [`People`].
pub(super) const SELF: usize = 0;

/// One inbox: its id, an account address, and its installation.
pub(super) struct Person {
    pub(super) inbox: String,
    pub(super) address: String,
    installation: Vec<u8>,
}

/// This installation's owner and their contacts.
pub(super) struct People {
    me: Person,
    pub(super) contacts: Vec<Person>,
}

impl People {
    pub(super) fn new(rng: &mut ChaCha20Rng, conversations: u64) -> Self {
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

/// A conversation being filled with messages: what its messages need to
/// know of it, and the send times still to come. Its record is handed out
/// once, when it starts; memory per conversation stays small (its members
/// and at most [`RECENT`] message ids), so that a sample may hold many.
pub(super) struct Thread {
    shape: SampleShape,
    id: Vec<u8>,
    created_at_ns: i64,
    is_dm: bool,
    /// Member numbers (see [`People::person`]), [`SELF`] first.
    members: Vec<usize>,
    creator: usize,
    disappear_ns: Option<i64>,
    /// The latest message ids, for replies and reactions to refer to.
    recent: VecDeque<Vec<u8>>,
    /// When its messages are sent, in order.
    pub(super) times: Times,
    /// Whether its first message, which starts a group, is still to come.
    founding: bool,
}

impl Thread {
    /// Draws a new conversation, the `position`-th of the sample, which
    /// will hold `count` messages; returns its record beside it. The first
    /// conversation is a group and the second a DM, so that even a small
    /// sample has both.
    pub(super) fn start(
        rng: &mut ChaCha20Rng,
        people: &People,
        shape: SampleShape,
        position: usize,
        count: u64,
    ) -> (Conversation, Thread) {
        let start_ns = SAMPLE_END_NS - super::SAMPLE_SPAN_NS;
        let is_dm = match position {
            0 => false,
            1 => true,
            _ => rng.gen_bool(0.35),
        };
        let created_at_ns = rng.gen_range(start_ns..SAMPLE_END_NS - 7 * NS_PER_DAY);
        let times = Times::new(rng, created_at_ns, count);
        let members = if is_dm {
            let peer = rng.gen_range(0..people.contacts.len());
            vec![SELF, peer + 1]
        } else {
            let size = rng.gen_range(2..=people.contacts.len().min(11));
            let mut members = vec![SELF];
            members.extend(
                index::sample(rng, people.contacts.len(), size)
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
            id: random_bytes(rng, 16),
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
                    _ => Some(pick(rng, GROUP_NAMES).to_owned()),
                }
            },
            dm_peer: is_dm.then(|| people.inbox(members[1]).to_owned()),
            added_by: (creator != SELF).then(|| people.inbox(creator).to_owned()),
            member_ids: members
                .iter()
                .map(|&member| people.inbox(member).to_owned())
                .collect(),
            metadata: conversation_metadata(rng, is_dm, disappear_ns),
            last_message_ns: times.last(),
        };
        let thread = Thread {
            shape,
            id: conversation.id.clone(),
            created_at_ns,
            is_dm,
            members,
            creator,
            disappear_ns,
            recent: VecDeque::new(),
            times,
            founding: !is_dm,
        };
        (conversation, thread)
    }

    /// The DM peer's member number, for a DM.
    pub(super) fn dm_peer(&self) -> Option<usize> {
        self.is_dm.then(|| self.members[1] - 1)
    }

    /// When the conversation was created.
    pub(super) fn created_at_ns(&self) -> i64 {
        self.created_at_ns
    }

    /// The conversation's id.
    pub(super) fn id(&self) -> &[u8] {
        &self.id
    }

    /// The next message, sent at `sent_at_ns` (the next of [`Thread::times`]).
    /// A group starts with its creator adding the members.
    pub(super) fn next_message(
        &mut self,
        rng: &mut ChaCha20Rng,
        people: &People,
        sent_at_ns: i64,
    ) -> Message {
        let founding = std::mem::take(&mut self.founding);
        self.message(rng, people, sent_at_ns, founding)
    }

    /// The next message, sent at `sent_at_ns`; `founding` for the membership
    /// change that starts a group.
    fn message(
        &mut self,
        rng: &mut ChaCha20Rng,
        people: &People,
        sent_at_ns: i64,
        founding: bool,
    ) -> Message {
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
        let is_group = !self.is_dm;
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
            conversation_id: self.id.clone(),
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

pub(super) fn consent_state(rng: &mut ChaCha20Rng) -> ConsentState {
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
