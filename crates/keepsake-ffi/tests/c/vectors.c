/*
 * Reads every test vector through the C ABI and checks what it reads as
 * against the manifest's facts.
 *
 * usage: vectors VECTORS_DIR FACTS OUT_DIR
 *
 * FACTS is derived from test-vectors/manifest.json, one tab-separated line
 * per fact: first `limits MAX_CHUNK_SIZE MAX_RECORD_SIZE`, then per vector
 * `NAME FILE OPENER VALUE OUTCOME DETAIL RELEASED SHA256 RECORDS_FILE`
 * (OPENER is key, passphrase or identity; DETAIL is the outcome's refinement
 * as `error`, `error:suite`, a chunk, an offset, a version, a limit name or
 * `chunk:kind`, or `-`; RECORDS_FILE is `-` when there is none).
 *
 * Each vector is read through a read callback that hands over 1 to 13 bytes
 * at a time, its batches in their canonical encoding; the released records
 * are counted and hashed here (SHA-256, this directory's sha256.h). Each
 * success vector is read again from its file, as JSON, into
 * OUT_DIR/NAME.out (`metadata`, `batch` and `end` lines) for the Rust test
 * to compare with the manifest and the records files.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keepsake.h"
#include "sha256.h"
#include "support.h"

#define MAX_FIELDS 9

typedef struct {
    FILE *file;
    size_t step;
} Source;

/* Hands over 1 to 13 bytes per call, so every boundary falls somewhere. */
static ptrdiff_t read_in_steps(void *user_data, uint8_t *buffer, size_t capacity) {
    Source *source = user_data;
    size_t want = source->step < capacity ? source->step : capacity;
    size_t got;
    source->step = source->step % 13 + 1;
    got = fread(buffer, 1, want, source->file);
    if (got == 0 && ferror(source->file)) return -1;
    return (ptrdiff_t)got;
}

static int read_varint(const uint8_t **at, const uint8_t *end, uint64_t *value) {
    int shift = 0;
    *value = 0;
    while (*at < end && shift < 64) {
        uint8_t byte = *(*at)++;
        *value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) return 1;
        shift += 7;
    }
    return 0;
}

/* Hashes each record of an encoded batch (spec §6.3.1) and counts them. */
static int hash_batch(const KeepsakeBuffer *batch, sha256_ctx *hash, long *records) {
    const uint8_t *at = batch->data, *end = batch->data + batch->len;
    uint64_t schema, len;
    if (!read_varint(&at, end, &schema) || schema != 1) return 0;
    while (at < end) {
        if (!read_varint(&at, end, &len) || len > (uint64_t)(end - at)) return 0;
        sha256_update(hash, at, (size_t)len);
        at += len;
        (*records)++;
    }
    return 1;
}

/* The manifest's outcome word and refinement for a status. */
static void outcome_of(KeepsakeStatus status, const KeepsakeError *error, char *outcome,
                       char *detail, size_t size) {
    KeepsakeErrorDetails details = keepsake_error_details(error);
    const char *name = keepsake_status_name(status);
    snprintf(detail, size, "-");
    switch (status) {
    case KEEPSAKE_STATUS_OK: snprintf(outcome, size, "success"); break;
    case KEEPSAKE_STATUS_WRONG_KEY: snprintf(outcome, size, "wrong_key"); break;
    case KEEPSAKE_STATUS_NOT_AN_ARCHIVE:
    case KEEPSAKE_STATUS_HEADER_CORRUPT:
    case KEEPSAKE_STATUS_NO_SUPPORTED_SLOT:
        snprintf(outcome, size, "header_failure");
        snprintf(detail, size, "%s", name);
        break;
    case KEEPSAKE_STATUS_UNSUPPORTED_SUITE:
        snprintf(outcome, size, "header_failure");
        snprintf(detail, size, "%s:%u", name, (unsigned)details.suite);
        break;
    case KEEPSAKE_STATUS_CORRUPT:
        snprintf(outcome, size, "chunk_failure");
        snprintf(detail, size, "%llu", (unsigned long long)details.chunk);
        break;
    case KEEPSAKE_STATUS_TRUNCATED:
    case KEEPSAKE_STATUS_TRAILING_DATA:
        snprintf(outcome, size, "%s", name);
        snprintf(detail, size, "%llu", (unsigned long long)details.offset);
        break;
    case KEEPSAKE_STATUS_UNSUPPORTED_VERSION:
        snprintf(outcome, size, "unsupported_version");
        snprintf(detail, size, "%u", (unsigned)details.version);
        break;
    case KEEPSAKE_STATUS_LIMIT_EXCEEDED:
        snprintf(outcome, size, "limit_exceeded");
        snprintf(detail, size, "%s", details.limit ? details.limit : "(none)");
        break;
    case KEEPSAKE_STATUS_UNKNOWN_CRITICAL_CHUNK:
        snprintf(outcome, size, "critical_unknown_chunk");
        snprintf(detail, size, "%llu:%u", (unsigned long long)details.chunk,
                 (unsigned)details.kind);
        break;
    default: snprintf(outcome, size, "unexpected status %s", name); break;
    }
}

static KeepsakeOpenOptions *open_options(const char *opener, const char *value,
                                         uint32_t max_chunk, uint32_t max_record) {
    KeepsakeOpenOptions *options = keepsake_open_options_new();
    KeepsakeError *error = NULL;
    KeepsakeStatus status;
    if (options == NULL) die("keepsake_open_options_new returned NULL");
    MUST("set_limits", keepsake_open_options_set_limits(options, max_chunk, max_record, &err));
    if (strcmp(opener, "key") == 0) {
        status = keepsake_open_options_add_key(options, (const uint8_t *)value, strlen(value),
                                               &error);
    } else if (strcmp(opener, "passphrase") == 0) {
        status = keepsake_open_options_add_passphrase(options, value, &error);
    } else if (strcmp(opener, "identity") == 0) {
        status = keepsake_open_options_add_identity(options, value, &error);
    } else {
        die("unknown opener %s", opener);
        return NULL;
    }
    MUST("add the opener", status);
    return options;
}

static void write_line(FILE *out, const char *tag, const KeepsakeBuffer *json) {
    /* The buffer is NUL-terminated: usable as a C string. */
    if (strlen((const char *)json->data) != json->len) fail("a JSON buffer holds a NUL");
    fprintf(out, "%s\t%s\n", tag, (const char *)json->data);
}

/* Reads a success vector again, from its file and as JSON, into OUT_DIR/NAME.out. */
static void dump_json(const char *path, const KeepsakeOpenOptions *options, const char *out_dir,
                      const char *name) {
    char out_path[4096];
    KeepsakeReader *reader = NULL;
    KeepsakeBuffer json;
    FILE *out;
    snprintf(out_path, sizeof out_path, "%s/%s.out", out_dir, name);
    out = fopen(out_path, "w");
    if (out == NULL) die("cannot write %s", out_path);
    MUST(name, keepsake_reader_open_file(path, options, &reader, &err));
    MUST(name, keepsake_reader_metadata_json(reader, &json, &err));
    write_line(out, "metadata", &json);
    keepsake_buffer_free(json);
    /* The end is not there yet. */
    EXPECT("end before the end", KEEPSAKE_STATUS_INVALID_ARGUMENT, keepsake_reader_end_json(reader, &json, &err));
    for (;;) {
        MUST(name, keepsake_reader_next_batch_json(reader, &json, &err));
        if (json.data == NULL) break;
        write_line(out, "batch", &json);
        keepsake_buffer_free(json);
    }
    MUST(name, keepsake_reader_end_json(reader, &json, &err));
    write_line(out, "end", &json);
    keepsake_buffer_free(json);
    keepsake_reader_free(reader);
    fclose(out);
}

static int split(char *line, char **fields, int max) {
    int count = 0;
    char *field = line;
    line[strcspn(line, "\r\n")] = 0;
    while (count < max) {
        char *tab = strchr(field, '\t');
        fields[count++] = field;
        if (tab == NULL) break;
        *tab = 0;
        field = tab + 1;
    }
    return count;
}

int main(int argc, char **argv) {
    static char line[65536];
    char *fields[MAX_FIELDS];
    unsigned long max_chunk = 0, max_record = 0;
    long checked = 0;
    FILE *facts;
    if (argc != 4) die("usage: vectors VECTORS_DIR FACTS OUT_DIR");
    facts = fopen(argv[2], "r");
    if (facts == NULL) die("cannot read %s", argv[2]);
    while (fgets(line, sizeof line, facts) != NULL) {
        char path[4096], outcome[128], detail[128], digest[65];
        const char *name;
        KeepsakeOpenOptions *options;
        KeepsakeReader *reader = NULL;
        KeepsakeError *error = NULL;
        KeepsakeStatus status;
        Source source;
        sha256_ctx hash;
        long released = 0;
        int count = split(line, fields, MAX_FIELDS);
        if (strcmp(fields[0], "limits") == 0 && count == 3) {
            max_chunk = strtoul(fields[1], NULL, 10);
            max_record = strtoul(fields[2], NULL, 10);
            continue;
        }
        if (count != MAX_FIELDS) die("bad facts line for %s", fields[0]);
        name = fields[0];
        snprintf(path, sizeof path, "%s/%s", argv[1], fields[1]);
        options = open_options(fields[2], fields[3], (uint32_t)max_chunk, (uint32_t)max_record);
        source.file = fopen(path, "rb");
        source.step = 1;
        if (source.file == NULL) die("cannot read %s", path);
        sha256_init(&hash);
        status = keepsake_reader_new(read_in_steps, &source, options, &reader, &error);
        while (status == KEEPSAKE_STATUS_OK) {
            KeepsakeBuffer batch;
            status = keepsake_reader_next_batch_encoded(reader, &batch, &error);
            if (status != KEEPSAKE_STATUS_OK || batch.data == NULL) break;
            if (!hash_batch(&batch, &hash, &released)) fail("%s: a batch does not parse", name);
            keepsake_buffer_free(batch);
        }
        outcome_of(status, error, outcome, detail, sizeof outcome);
        sha256_final_hex(&hash, digest);
        if (strcmp(outcome, fields[4]) != 0 || strcmp(detail, fields[5]) != 0) {
            fail("%s: expected %s %s, got %s %s (%s)", name, fields[4], fields[5], outcome,
                 detail, error ? keepsake_error_message(error) : "no error");
        }
        if (released != strtol(fields[6], NULL, 10)) {
            fail("%s: expected %s records released, got %ld", name, fields[6], released);
        }
        if (strcmp(digest, fields[7]) != 0) fail("%s: released records hash differs", name);
        if (status != KEEPSAKE_STATUS_OK && (error == NULL || keepsake_error_message(error)[0] == 0)) {
            fail("%s: a failure without an error message", name);
        }
        keepsake_error_free(error);
        keepsake_reader_free(reader);
        fclose(source.file);
        if (status == KEEPSAKE_STATUS_OK && strcmp(fields[4], "success") == 0) {
            dump_json(path, options, argv[3], name);
        }
        keepsake_open_options_free(options);
        checked++;
    }
    fclose(facts);
    printf("checked %ld vectors, %d failures\n", checked, failures);
    return failures == 0 ? 0 : 1;
}
