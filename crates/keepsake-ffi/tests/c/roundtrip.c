/*
 * Writes archives through the C ABI and reads them back, as an SDK would:
 * a record writer to a write callback and to a file, readers, the summary,
 * verify, import into and create from a SQLite database, progress and
 * cancellation, and the errors a caller meets.
 *
 * usage: roundtrip DIR KEY_HEX RECIPIENT IDENTITY SIGNING_KEY
 *
 * Writes DIR/callback.keepsake (raw key, X25519 recipient and passphrase
 * slots, signed), DIR/file.keepsake (the same records copied in their
 * encoded form), DIR/imported.db and DIR/from-db.keepsake, and prints one
 * tab-separated line per fact for the Rust test to check (`trailer`, `end`,
 * `summary`, `verify`, `import`, `import-again`, `create`, `progress`).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keepsake.h"
#include "support.h"

#define CONVERSATIONS 3
#define MESSAGES_PER_CONVERSATION 40
#define CONSENT 5
#define PASSPHRASE "correct horse battery staple"

/* A growing text buffer. */
typedef struct {
    char *data;
    size_t len, cap;
} Text;

static void append(Text *text, const char *format, ...) {
    va_list args;
    int needed;
    for (;;) {
        size_t room = text->cap - text->len;
        va_start(args, format);
        needed = vsnprintf(text->data ? text->data + text->len : NULL, text->data ? room : 0,
                           format, args);
        va_end(args);
        if (needed < 0) die("vsnprintf failed");
        if (text->data && (size_t)needed < room) break;
        text->cap = text->cap * 2 + (size_t)needed + 1;
        text->data = realloc(text->data, text->cap);
        if (text->data == NULL) die("out of memory");
    }
    text->len += (size_t)needed;
}

static int write_to_file(void *user_data, const uint8_t *data, size_t len) {
    return fwrite(data, 1, len, (FILE *)user_data) == len ? 0 : 1;
}

static ptrdiff_t read_from_file(void *user_data, uint8_t *buffer, size_t capacity) {
    FILE *file = user_data;
    size_t got = fread(buffer, 1, capacity, file);
    return got == 0 && ferror(file) ? -1 : (ptrdiff_t)got;
}

typedef struct {
    long events;
    long finished;
    long cancel_after; /* answer false at this event; 0 never */
} Progress;

static bool on_progress(void *user_data, const KeepsakeProgressEvent *event) {
    Progress *progress = user_data;
    progress->events++;
    if (event->finished) progress->finished++;
    if (event->records_done > event->records_total && event->records_total != KEEPSAKE_UNKNOWN) {
        fail("progress: %llu records done of %llu", (unsigned long long)event->records_done,
             (unsigned long long)event->records_total);
    }
    return progress->cancel_after == 0 || progress->events < progress->cancel_after;
}

static int exists(const char *path) {
    FILE *file = fopen(path, "rb");
    if (file) fclose(file);
    return file != NULL;
}

static void conversation_batch(Text *json, int c) {
    int m, i;
    append(json,
           "[{\"type\":\"conversation\",\"id\":\"c0ffee%02x\",\"kind\":\"group\","
           "\"created_at_ns\":\"1700000000000000000\",\"name\":\"Group %d\",\"dm_peer\":null,"
           "\"added_by\":\"alice\",\"member_ids\":[\"alice\",\"bob\"],"
           "\"metadata\":{\"description\":\"a test group\"},\"last_message_ns\":null}",
           c, c);
    for (m = 0; m < MESSAGES_PER_CONVERSATION; m++) {
        append(json,
               ",{\"type\":\"message\",\"id\":\"%02x%04x\",\"conversation_id\":\"c0ffee%02x\","
               "\"sender_id\":\"%s\",\"sender_installation_id\":\"0102\","
               "\"sent_at_ns\":\"%lld\",\"kind\":\"application\","
               "\"content_type\":\"xmtp.org/text:1.0\",\"content\":\"",
               c, m, c, m % 2 ? "bob" : "alice", 1700000000000000000LL + 1000000000LL * (c * 100 + m));
        for (i = 0; i < 120; i++) append(json, "%02x", (unsigned)((i * 7 + m * 13 + c) & 0xff));
        append(json, "\",\"delivery_status\":\"published\"%s}",
               m ? ",\"reference_id\":null,\"expires_at_ns\":null" : "");
    }
    append(json, "]");
}

static void consent_batch(Text *json) {
    int i;
    append(json, "[");
    for (i = 0; i < CONSENT; i++) {
        append(json,
               "%s{\"type\":\"consent\",\"entity_type\":\"inbox\",\"entity\":\"inbox-%d\","
               "\"state\":\"%s\",\"updated_at_ns\":\"%d\"}",
               i ? "," : "", i, i % 2 ? "denied" : "allowed", 1000 + i);
    }
    append(json, "]");
}

static void print_buffer(const char *tag, KeepsakeBuffer buffer) {
    printf("%s\t%s\n", tag, (const char *)buffer.data);
    keepsake_buffer_free(buffer);
}

static KeepsakeWriteOptions *write_options(const char *key, const char *recipient,
                                           const char *signing_key) {
    KeepsakeWriteOptions *options = keepsake_write_options_new();
    int64_t start = 10, end = 5;
    MUST("add_key", keepsake_write_options_add_key(options, (const uint8_t *)key, strlen(key),
                                                   "laptop", &err));
    MUST("add_recipient", keepsake_write_options_add_recipient(options, recipient, NULL, &err));
    MUST("add_passphrase", keepsake_write_options_add_passphrase(options, PASSPHRASE, "phrase",
                                                                 19456, 2, 1, &err));
    MUST("set_signing_key", keepsake_write_options_set_signing_key(options, signing_key, &err));
    MUST("set_creator", keepsake_write_options_set_creator(options, "keepsake C test", &err));
    /* Small chunks, so the records span several. */
    MUST("set_compression", keepsake_write_options_set_compression(options, 9, 4096, &err));

    /* What a caller gets wrong. */
    EXPECT("a 31-byte key", KEEPSAKE_STATUS_INVALID_KEY, keepsake_write_options_add_key(options, (const uint8_t *)key,
                                                                  31, NULL, &err));
    EXPECT("a bad recipient", KEEPSAKE_STATUS_INVALID_KEY, keepsake_write_options_add_recipient(options, "keepsake1nope", NULL, &err));
    EXPECT("an empty range", KEEPSAKE_STATUS_INVALID_ARGUMENT, keepsake_write_options_set_time_range(options, &start, &end, &err));
    EXPECT("no elements", KEEPSAKE_STATUS_INVALID_ARGUMENT, keepsake_write_options_set_elements(options, false, false, &err));
    EXPECT("NULL options", KEEPSAKE_STATUS_INVALID_ARGUMENT, keepsake_write_options_set_threads(NULL, 1, &err));
    EXPECT("weak Argon2", KEEPSAKE_STATUS_INVALID_ARGUMENT,
           keepsake_write_options_add_passphrase(options, "p", NULL, 1024, 1, 1, &err));
    /* Without an error object, the status alone. */
    if (keepsake_write_options_set_threads(NULL, 1, NULL) != KEEPSAKE_STATUS_INVALID_ARGUMENT) {
        fail("NULL options without an error object");
    }
    return options;
}

/* Writes every record to a callback writer; returns how many. */
static long write_callback_archive(const char *path, const KeepsakeWriteOptions *options) {
    KeepsakeWriter *writer = NULL;
    KeepsakeBuffer trailer;
    Text json = {0};
    FILE *file = fopen(path, "wb");
    const char *orphan = "[{\"type\":\"message\",\"id\":\"ff\",\"conversation_id\":\"dead\","
                         "\"sender_id\":\"x\",\"sender_installation_id\":\"\",\"sent_at_ns\":\"1\","
                         "\"kind\":\"application\",\"content_type\":\"t\",\"content\":\"\","
                         "\"delivery_status\":\"failed\"}]";
    int c;
    if (file == NULL) die("cannot write %s", path);
    MUST("writer_new", keepsake_writer_new(write_to_file, file, options, &writer, &err));
    for (c = 0; c < CONVERSATIONS; c++) {
        json.len = 0;
        conversation_batch(&json, c);
        MUST("write_json", keepsake_writer_write_json(writer, (const uint8_t *)json.data, json.len,
                                                      &err));
    }
    /* Rejected, and the writer goes on. */
    EXPECT("a record that is not one", KEEPSAKE_STATUS_INVALID_ARGUMENT, keepsake_writer_write_json(writer, (const uint8_t *)"[{\"type\":\"letter\"}]", 19,
                                             &err));
    EXPECT("a message before its conversation", KEEPSAKE_STATUS_INVALID_ARGUMENT, keepsake_writer_write_json(writer, (const uint8_t *)orphan, strlen(orphan),
                                             &err));
    json.len = 0;
    consent_batch(&json);
    MUST("write consent", keepsake_writer_write_json(writer, (const uint8_t *)json.data, json.len,
                                                     &err));
    MUST("finish", keepsake_writer_finish(writer, &trailer, &err));
    print_buffer("trailer", trailer);
    fclose(file);
    free(json.data);
    return CONVERSATIONS * (1 + MESSAGES_PER_CONVERSATION) + CONSENT;
}

/* Copies the records of `from` into a new file archive at `to`, in their
 * encoded form, with a 1-byte read buffer size cap; returns how many. */
static long copy_encoded(const char *from, const char *to, const KeepsakeOpenOptions *open,
                         const KeepsakeWriteOptions *options) {
    KeepsakeReader *reader = NULL;
    KeepsakeWriter *writer = NULL;
    KeepsakeBuffer batch, json;
    long batches = 0;
    FILE *file = fopen(from, "rb");
    if (file == NULL) die("cannot read %s", from);
    MUST("reader_new", keepsake_reader_new(read_from_file, file, open, &reader, &err));
    MUST("metadata", keepsake_reader_metadata_json(reader, &json, &err));
    print_buffer("metadata", json);
    MUST("create_file", keepsake_writer_create_file(to, options, &writer, &err));
    for (;;) {
        MUST("next_batch", keepsake_reader_next_batch_encoded(reader, &batch, &err));
        if (batch.data == NULL) break;
        MUST("write_encoded", keepsake_writer_write_encoded(writer, batch.data, batch.len, &err));
        keepsake_buffer_free(batch);
        batches++;
        if (exists(to)) fail("%s exists before the writer finished", to);
    }
    MUST("end", keepsake_reader_end_json(reader, &json, &err));
    print_buffer("end", json);
    /* A reader at its end stays there. */
    MUST("past the end", keepsake_reader_next_batch_json(reader, &batch, &err));
    if (batch.data != NULL || batch.len != 0) fail("a batch after the end");
    keepsake_reader_free(reader);
    fclose(file);
    MUST("finish the copy", keepsake_writer_finish(writer, NULL, &err));
    return batches;
}

int main(int argc, char **argv) {
    char callback_path[4096], file_path[4096], db_path[4096], from_db[4096], scratch[4096];
    const char *dir, *key, *recipient, *identity, *signing_key, *signer, *other_signer;
    KeepsakeWriteOptions *options;
    KeepsakeOpenOptions *by_key, *by_identity, *by_passphrase, *wrong;
    KeepsakeWriter *writer = NULL;
    KeepsakeReader *reader = NULL;
    KeepsakeError *error = NULL;
    KeepsakeBuffer buffer;
    Progress progress = {0, 0, 0};
    KeepsakeStatus status;
    long written;
    uint8_t other_key[32];

    if (argc != 8) die("usage: roundtrip DIR KEY_HEX RECIPIENT IDENTITY SIGNING_KEY SIGNER OTHER_SIGNER");
    dir = argv[1];
    key = argv[2];
    recipient = argv[3];
    identity = argv[4];
    signing_key = argv[5];
    signer = argv[6];
    other_signer = argv[7];
    snprintf(callback_path, sizeof callback_path, "%s/callback.keepsake", dir);
    snprintf(file_path, sizeof file_path, "%s/file.keepsake", dir);
    snprintf(db_path, sizeof db_path, "%s/imported.db", dir);
    snprintf(from_db, sizeof from_db, "%s/from-db.keepsake", dir);
    if (strlen(keepsake_version()) == 0) fail("no version");

    options = write_options(key, recipient, signing_key);
    written = write_callback_archive(callback_path, options);
    printf("written\t%ld\n", written);

    by_key = keepsake_open_options_new();
    by_identity = keepsake_open_options_new();
    by_passphrase = keepsake_open_options_new();
    wrong = keepsake_open_options_new();
    memset(other_key, 0xee, sizeof other_key);
    MUST("by key", keepsake_open_options_add_key(by_key, (const uint8_t *)key, strlen(key), &err));
    MUST("by identity", keepsake_open_options_add_identity(by_identity, identity, &err));
    MUST("by passphrase", keepsake_open_options_add_passphrase(by_passphrase, PASSPHRASE, &err));
    MUST("wrong", keepsake_open_options_add_key(wrong, other_key, 32, &err));

    /* Every slot opens it; another key does not. */
    MUST("open by identity", keepsake_reader_open_file(callback_path, by_identity, &reader, &err));
    keepsake_reader_free(reader);
    reader = NULL;
    MUST("open by passphrase", keepsake_reader_open_file(callback_path, by_passphrase, &reader, &err));
    keepsake_reader_free(reader);
    reader = NULL;
    EXPECT("wrong key", KEEPSAKE_STATUS_WRONG_KEY, keepsake_reader_open_file(callback_path, wrong, &reader, &err));
    if (reader != NULL) fail("a reader was stored although opening failed");

    /* The encoded form goes back in unchanged, to a file written in place at the end. */
    {
        KeepsakeWriteOptions *plain = keepsake_write_options_new();
        MUST("plain key", keepsake_write_options_add_key(plain, (const uint8_t *)key, strlen(key),
                                                         NULL, &err));
        if (copy_encoded(callback_path, file_path, by_key, plain) < 2) {
            fail("the archive has fewer than two record batches");
        }
        EXPECT("an existing file", KEEPSAKE_STATUS_INVALID_ARGUMENT, keepsake_writer_create_file(file_path, plain, &writer, &err));
        snprintf(scratch, sizeof scratch, "%s/abandoned.keepsake", dir);
        MUST("abandoned", keepsake_writer_create_file(scratch, plain, &writer, &err));
        keepsake_writer_free(writer);
        if (exists(scratch)) fail("an abandoned file writer left %s", scratch);
        keepsake_write_options_free(plain);
    }

    MUST("summary", keepsake_archive_summary(callback_path, by_key, &buffer, &err));
    print_buffer("summary", buffer);
    MUST("verify", keepsake_archive_verify(callback_path, by_identity, on_progress, &progress,
                                           &buffer, &err));
    print_buffer("verify", buffer);
    printf("progress\tverify\t%ld\t%ld\n", progress.events, progress.finished);

    progress.events = progress.finished = 0;
    MUST("import", keepsake_database_import(callback_path, by_key, db_path, on_progress, &progress,
                                            &buffer, &err));
    print_buffer("import", buffer);
    printf("progress\timport\t%ld\t%ld\n", progress.events, progress.finished);
    MUST("import again", keepsake_database_import(file_path, by_key, db_path, NULL, NULL, &buffer,
                                                  &err));
    print_buffer("import-again", buffer);

    /* A trusted signer: another signer's name refuses verify and import,
       which writes nothing; the archive's own is accepted. */
    MUST("trust another", keepsake_open_options_set_trusted_signer(by_key, other_signer, &err));
    EXPECT("verify by another signer", KEEPSAKE_STATUS_UNTRUSTED_SIGNATURE,
           keepsake_archive_verify(callback_path, by_key, NULL, NULL, NULL, &err));
    snprintf(scratch, sizeof scratch, "%s/untrusted.db", dir);
    EXPECT("import by another signer", KEEPSAKE_STATUS_UNTRUSTED_SIGNATURE,
           keepsake_database_import(callback_path, by_key, scratch, NULL, NULL, NULL, &err));
    if (exists(scratch)) fail("an untrusted import left %s", scratch);
    MUST("trust the signer", keepsake_open_options_set_trusted_signer(by_key, signer, &err));
    MUST("verify by the signer", keepsake_archive_verify(callback_path, by_key, NULL, NULL, &buffer, &err));
    print_buffer("verify-trusted", buffer);
    MUST("trust nobody", keepsake_open_options_set_trusted_signer(by_key, NULL, &err));

    /* Cancelled at the first event: no rows, no new database, no archive. */
    progress.events = 0;
    progress.cancel_after = 1;
    snprintf(scratch, sizeof scratch, "%s/cancelled.db", dir);
    EXPECT("cancelled import", KEEPSAKE_STATUS_CANCELLED, keepsake_database_import(callback_path, by_key, scratch, on_progress, &progress,
                                           NULL, &err));
    if (exists(scratch)) fail("a cancelled import left %s", scratch);
    progress.events = 0;
    snprintf(scratch, sizeof scratch, "%s/cancelled.keepsake", dir);
    EXPECT("cancelled create", KEEPSAKE_STATUS_CANCELLED, keepsake_database_create_archive(db_path, scratch, options, on_progress,
                                                   &progress, NULL, &err));
    if (exists(scratch)) fail("a cancelled create left %s", scratch);

    progress.events = progress.finished = progress.cancel_after = 0;
    {
        int64_t start = 1700000000000000000LL + 1000000000LL * 100; /* conversation 1 on */
        MUST("range", keepsake_write_options_set_time_range(options, &start, NULL, &err));
        MUST("elements", keepsake_write_options_set_elements(options, true, false, &err));
    }
    MUST("create", keepsake_database_create_archive(db_path, from_db, options, on_progress,
                                                    &progress, &buffer, &err));
    print_buffer("create", buffer);
    printf("progress\tcreate\t%ld\t%ld\n", progress.events, progress.finished);

    /* Damage: a flipped byte in the middle is a corrupt chunk, after some records. */
    {
        FILE *in = fopen(callback_path, "rb"), *out;
        static uint8_t bytes[1 << 20];
        size_t len = fread(bytes, 1, sizeof bytes, in);
        long records = 0;
        fclose(in);
        bytes[len / 2] ^= 0x40;
        snprintf(scratch, sizeof scratch, "%s/damaged.keepsake", dir);
        out = fopen(scratch, "wb");
        fwrite(bytes, 1, len, out);
        fclose(out);
        MUST("open damaged", keepsake_reader_open_file(scratch, by_key, &reader, &err));
        do {
            status = keepsake_reader_next_batch_json(reader, &buffer, &error);
            if (status == KEEPSAKE_STATUS_OK && buffer.data != NULL) records++;
            if (status == KEEPSAKE_STATUS_OK) keepsake_buffer_free(buffer);
        } while (status == KEEPSAKE_STATUS_OK && buffer.data != NULL);
        if (status != KEEPSAKE_STATUS_CORRUPT) {
            fail("damaged: expected corrupt, got %s", keepsake_status_name(status));
        } else {
            KeepsakeErrorDetails details = keepsake_error_details(error);
            printf("damaged\t%llu\t%ld\n", (unsigned long long)details.chunk, records);
        }
        keepsake_error_free(error);
        /* A failed reader hands out nothing more. */
        status = keepsake_reader_next_batch_json(reader, &buffer, NULL);
        if (status == KEEPSAKE_STATUS_OK) fail("a failed reader went on");
        keepsake_reader_free(reader);
    }

    keepsake_open_options_free(by_key);
    keepsake_open_options_free(by_identity);
    keepsake_open_options_free(by_passphrase);
    keepsake_open_options_free(wrong);
    keepsake_write_options_free(options);
    keepsake_buffer_free((KeepsakeBuffer){NULL, 0});
    if (strcmp(keepsake_status_name(12345), "unknown") != 0) fail("unknown status names");
    printf("done\t%d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
