//! Vectors that read successfully: content of every kind, and chunking at
//! its boundaries.

use std::collections::BTreeMap;

use keepsake::body::records::{
    Consent, ConsentEntityType, ConsentState, ConversationKind, DeliveryStatus, Elements, Message,
    MessageKind,
};
use keepsake::format::{FLAG_COMPRESSED, FRAME_HEADER_LEN};
use keepsake::stream::writer::WriterOptions;

use super::*;

pub(crate) fn content_vectors(out: &mut Vec<Vector>) {
    out.push(
        Build::new("empty", &[KEY], &WriterOptions::default())
            .finish()
            .success(
                "no records: the metadata chunk and the trailer only, with the default options",
            ),
    );

    let group = conversation(GROUP_ID, ConversationKind::Group, Some("Weekend plans"));
    let mut build = Build::new("one-conversation", &[KEY], &small());
    build.batch(&[conv(group.clone())]);
    out.push(build.finish().success("one conversation record"));

    let mut build = Build::new("one-message", &[KEY], &small());
    build.batch(&[
        conv(group.clone()),
        msg(message(b"m-1", GROUP_ID, T1, "hello")),
    ]);
    out.push(
        build
            .finish()
            .success("one message record after its conversation, in one batch"),
    );

    let mut build = Build::new("one-consent", &[KEY], &small());
    build.batch(&[cons(consent(
        ConsentEntityType::Inbox,
        "alice",
        ConsentState::Allowed,
    ))]);
    out.push(
        build
            .finish()
            .success("one consent record and nothing else"),
    );

    let mut build = Build::new("typical-default-options", &[KEY], &WriterOptions::default());
    build.records(&typical(3, 12));
    out.push(build.finish().success(
        "three conversations with twelve messages each and two consent records, default options (one chunk)",
    ));

    let mut empty = conversation(b"", ConversationKind::Group, None);
    empty.created_at_ns = 0;
    empty.dm_peer = None;
    empty.added_by = None;
    empty.member_ids = Vec::new();
    let bare = Message {
        id: Vec::new(),
        conversation_id: Vec::new(),
        sender_id: String::new(),
        sender_installation_id: Vec::new(),
        sent_at_ns: 0,
        kind: MessageKind::Application,
        content_type: String::new(),
        content: Vec::new(),
        delivery_status: DeliveryStatus::Published,
        reference_id: None,
        expires_at_ns: None,
    };
    let mut build = Build::new("fields-empty-or-none", &[KEY], &small());
    build.batch(&[
        conv(empty.clone()),
        msg(bare.clone()),
        cons(Consent {
            entity_type: ConsentEntityType::Conversation,
            entity: String::new(),
            state: ConsentState::Unknown,
            updated_at_ns: 0,
        }),
    ]);
    out.push(build.finish().success(
        "every byte string and string empty, every option None, every sequence and map empty, every timestamp 0",
    ));

    let mut some = empty.clone();
    some.name = Some(String::new());
    some.dm_peer = Some(String::new());
    some.added_by = Some(String::new());
    some.member_ids = vec![String::new()];
    some.metadata = BTreeMap::from([(String::new(), String::new())]);
    some.last_message_ns = Some(0);
    let mut some_message = bare.clone();
    some_message.reference_id = Some(Vec::new());
    some_message.expires_at_ns = Some(0);
    let mut build = Build::new("fields-some-empty", &[KEY], &small());
    build.batch(&[conv(some), msg(some_message)]);
    out.push(build.finish().success(
        "every option Some of an empty value or 0 (distinct from None), a member list and a map holding one empty string",
    ));

    for (name, at, what) in [
        ("timestamps-min", i64::MIN, "i64::MIN"),
        ("timestamps-max", i64::MAX, "i64::MAX"),
    ] {
        let mut c = conversation(GROUP_ID, ConversationKind::Group, Some("edge of time"));
        c.created_at_ns = at;
        c.last_message_ns = Some(at);
        let mut m = message(b"m-1", GROUP_ID, at, "edge");
        m.expires_at_ns = Some(at);
        let mut k = consent(ConsentEntityType::Inbox, "alice", ConsentState::Denied);
        k.updated_at_ns = at;
        let mut meta = metadata();
        meta.start_ns = Some(at);
        meta.end_ns = Some(at);
        let mut build = Build::with_metadata(name, &[KEY], &small(), meta);
        build.batch(&[conv(c), msg(m), cons(k)]);
        out.push(build.finish().success(&format!(
            "every timestamp, in records, metadata range and trailer time range, is {what}"
        )));
    }

    let mut build = Build::new("timestamps-zigzag-boundaries", &[KEY], &small());
    let mut records = vec![conv(conversation(GROUP_ID, ConversationKind::Group, None))];
    for (i, at) in [-1i64, 0, 1, -64, 63, 64, -65, i64::MIN + 1, i64::MAX - 1]
        .into_iter()
        .enumerate()
    {
        records.push(msg(message(
            format!("m-{i}").as_bytes(),
            GROUP_ID,
            at,
            "zigzag",
        )));
    }
    build.batch(&records);
    out.push(build.finish().success(
        "message timestamps around the zigzag and varint boundaries: -1, 0, 1, -64, 63, 64, -65, i64::MIN + 1, i64::MAX - 1",
    ));

    let texts = [
        "👩‍👩‍👧‍👦 🏳️‍🌈 🇯🇵 👍🏽",
        "漢字 かな カナ 한국어",
        "שלום עולם · مرحبا بالعالم",
        "\u{202E}gnp.exe\u{202C} \u{200F}rtl mark",
        "e\u{301} a\u{308} Z\u{337}\u{31B}a\u{338}l\u{335}g\u{336}o\u{334} \u{1100}\u{1161}",
        "nul\u{0} bom\u{FEFF} ls\u{2028} ps\u{2029} del\u{7F} nel\u{85}",
        "\u{FFFD} \u{FFFF} \u{10FFFF} \u{1D11E}",
        "tab\t newline\n cr\r quote\" backslash\\",
    ];
    let mut c = conversation(GROUP_ID, ConversationKind::Dm, Some(texts[0]));
    c.dm_peer = Some(texts[2].to_owned());
    c.added_by = Some(texts[3].to_owned());
    c.member_ids = texts.iter().map(|t| t.to_string()).collect();
    c.metadata = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), texts[(i + 1) % texts.len()].to_string()))
        .collect();
    let mut records = vec![conv(c)];
    for (i, text) in texts.iter().enumerate() {
        let mut m = message(format!("m-{i}").as_bytes(), GROUP_ID, T1, text);
        m.sender_id = texts[(i + 3) % texts.len()].to_owned();
        m.content_type = format!("example.org/{}:1.0", texts[(i + 5) % texts.len()]);
        records.push(msg(m));
        records.push(cons(consent(
            ConsentEntityType::Inbox,
            text,
            ConsentState::Allowed,
        )));
    }
    let mut meta = metadata();
    meta.creator = format!("keepsake {} テスト", texts[0]);
    let mut build = Build::with_metadata("unicode-text", &[KEY], &small(), meta);
    build.batch(&records);
    out.push(build.finish().success(
        "text fields holding emoji and ZWJ sequences, CJK, right-to-left and bidi controls, combining marks, NUL, BOM, U+2028, noncharacters and JSON escapes",
    ));

    let mut c = conversation(GROUP_ID, ConversationKind::Group, Some("key order"));
    c.metadata = [
        "",
        "a",
        "ab",
        "b",
        "Z",
        "é",
        "\u{FF61}",
        "😀",
        "\u{10FFFF}",
        "~",
    ]
    .iter()
    .map(|k| (k.to_string(), format!("value of {k:?}")))
    .collect();
    let mut build = Build::new("map-keys-utf8-order", &[KEY], &small());
    build.batch(&[conv(c)]);
    out.push(build.finish().success(
        "conversation metadata keys in UTF-8 byte order, which differs from UTF-16 order (U+FF61 before U+1F600) and puts a prefix first",
    ));

    let all_bytes: Vec<u8> = (0..=255).collect();
    let reversed: Vec<u8> = all_bytes.iter().rev().copied().collect();
    let mut c = conversation(&all_bytes, ConversationKind::Group, None);
    c.name = Some("binary".to_owned());
    let mut m = message(&reversed, &all_bytes, T1, "");
    m.content = [all_bytes.clone(), reversed.clone()].concat();
    m.sender_installation_id = vec![0x00, 0xFF, 0x80, 0x7F];
    m.reference_id = Some(vec![0x00]);
    let mut build = Build::new("binary-all-byte-values", &[KEY], &small());
    build.batch(&[conv(c), msg(m)]);
    out.push(build.finish().success(
        "byte-string fields holding every byte value 00 to ff: ids of 256 bytes and 512 bytes of content",
    ));

    let mut meta = metadata();
    meta.start_ns = Some(CREATED_AT_NS - 7 * DAY_NS);
    meta.end_ns = Some(CREATED_AT_NS);
    meta.elements = Elements {
        messages: true,
        consent: false,
    };
    let mut build = Build::with_metadata("metadata-time-range", &[KEY], &small(), meta);
    build.batch(&base_batches()[0]);
    out.push(build.finish().success(
        "metadata with a requested time range and consent not requested; the records agree",
    ));

    let mut meta = metadata();
    meta.created_at_ns = i64::MIN;
    meta.start_ns = Some(i64::MIN);
    meta.end_ns = Some(i64::MAX);
    meta.elements = Elements {
        messages: false,
        consent: false,
    };
    meta.creator = String::new();
    out.push(
        Build::with_metadata("metadata-extremes", &[KEY], &small(), meta)
            .finish()
            .success(
                "metadata with created_at_ns i64::MIN, the widest range, no elements requested and an empty creator",
            ),
    );

    let mut meta = metadata();
    meta.elements = Elements {
        messages: false,
        consent: false,
    };
    meta.start_ns = Some(0);
    meta.end_ns = Some(1);
    let mut build = Build::with_metadata("metadata-disagrees-with-records", &[KEY], &small(), meta);
    for batch in base_batches() {
        build.batch(&batch);
    }
    out.push(build.finish().success(
        "records the metadata's elements and time range exclude: a writer's fault that a reader reports but must not fail on",
    ));
}

pub(crate) fn chunking_vectors(out: &mut Vec<Vector>) {
    let mut build = Build::new("many-chunks", &[KEY], &small());
    build.records(&typical(3, 40));
    let built = build.finish();
    assert!(
        built.frames.len() > 6,
        "many-chunks has {}",
        built.frames.len()
    );
    out.push(built.success(
        "three conversations with 40 messages each and consent, chunked by the writer at 4096 bytes",
    ));

    for chunk_count in [255u64, 256, 257] {
        let name = format!("chunk-count-{chunk_count}");
        let mut build = Build::new(&name, &[KEY], &small());
        // A conversation, then one 2100-byte message per chunk: two never fit
        // in 4096 bytes, so chunks 1 to N - 1 hold one message each (the
        // first also holds the conversation).
        let mut records = vec![conv(conversation(GROUP_ID, ConversationKind::Group, None))];
        records.extend(chatter(GROUP_ID, chunk_count as usize - 1, 2100));
        build.records(&records);
        let built = build.finish();
        assert_eq!(built.trailer.chunk_count, chunk_count, "{name}");
        out.push(built.success(&format!(
            "{chunk_count} chunks before the trailer (the final frame is chunk {chunk_count}), one message each: the chunk index crosses a byte boundary"
        )));
    }

    let max = small().max_record_size() as usize;
    let c = conversation(GROUP_ID, ConversationKind::Group, None);
    let big = sized(max, |n| {
        msg(message(b"m-big", GROUP_ID, T1, &"x".repeat(n)))
    });
    let mut build = Build::new("record-max-size", &[KEY], &small());
    build.batch(&[conv(c.clone())]);
    build.batch(std::slice::from_ref(&big));
    out.push(build.finish().success(&format!(
        "a message record of exactly max_record_size ({max}) bytes, alone in its batch"
    )));

    let mut build = Build::new("batch-fills-max-chunk-size", &[KEY], &small());
    let fill = {
        let noise = random_bytes(&mut build.rng, SMALL_CHUNK as usize);
        let head = batch_body(&[conv(c.clone())]).len();
        let target = SMALL_CHUNK as usize - head - 2;
        sized(target, |n| {
            let mut m = message(b"m-noise", GROUP_ID, T1, "");
            m.content = noise[..n].to_vec();
            msg(m)
        })
    };
    build.batch(&[conv(c.clone()), fill]);
    let built = build.finish();
    let span = built.frame(1);
    assert_eq!(span.flags, 0, "the full batch must be stored uncompressed");
    assert_eq!(
        span.end - span.start,
        FRAME_HEADER_LEN + SMALL_CHUNK as usize + 16,
        "the full batch must be max_chunk_size long"
    );
    out.push(built.success(
        "a batch body of exactly max_chunk_size (4096) bytes that does not compress, stored as is: stored_len is 4112",
    ));

    let mut build = Build::new(
        "record-length-varint-boundaries",
        &[KEY],
        &WriterOptions::default(),
    );
    let smallest = cons(Consent {
        entity_type: ConsentEntityType::Conversation,
        entity: String::new(),
        state: ConsentState::Unknown,
        updated_at_ns: 0,
    });
    assert_eq!(encoded(&smallest).len(), 5);
    let mut records = vec![smallest];
    records.extend([127usize, 128, 16_383, 16_384].map(|len| {
        sized(len, |n| {
            cons(Consent {
                entity_type: ConsentEntityType::Address,
                entity: "a".repeat(n),
                state: ConsentState::Allowed,
                updated_at_ns: 0,
            })
        })
    }));
    build.batch(&records);
    out.push(build.finish().success(
        "records of 5 (the smallest), 127, 128, 16383 and 16384 encoded bytes: entry lengths of one, two and three varint bytes",
    ));

    let mut build = Build::new("compressed-and-stored-chunks", &[KEY], &small());
    let noise = random_bytes(&mut build.rng, 3000);
    let mut noisy = message(b"m-noise", GROUP_ID, T1, "");
    noisy.content = noise;
    build.batch(&[conv(c.clone()), msg(noisy)]);
    build.batch(&chatter(GROUP_ID, 20, 100));
    let built = build.finish();
    assert_eq!(built.frame(1).flags, 0, "random content must be stored");
    assert_eq!(built.frame(2).flags, FLAG_COMPRESSED, "text must compress");
    out.push(built.success(
        "one batch of random bytes stored uncompressed (zstd would not shrink it) and one compressed batch",
    ));
}
