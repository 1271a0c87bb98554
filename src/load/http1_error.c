/* http1_error - the names and texts of the HTTP/1.1 parser's errors (see load/http1.h). */
#include <stdio.h>

#include "core/err.h"
#include "load/http1.h"

static const char *const error_names[HTTP1_E_COUNT] = {
    [HTTP1_E_NONE] = "none",
    [HTTP1_E_STATUS_LINE_TOO_LONG] = "status_line_too_long",
    [HTTP1_E_HEADER_LINE_TOO_LONG] = "header_line_too_long",
    [HTTP1_E_TOO_MANY_HEADERS] = "too_many_headers",
    [HTTP1_E_HEADERS_TOO_LONG] = "headers_too_long",
    [HTTP1_E_CHUNK_LINE_TOO_LONG] = "chunk_line_too_long",
    [HTTP1_E_CHUNK_EXT_TOO_LONG] = "chunk_ext_too_long",
    [HTTP1_E_TRAILERS_TOO_LONG] = "trailers_too_long",
    [HTTP1_E_LENGTH_TOO_LONG] = "content_length_too_long",
    [HTTP1_E_TOO_MANY_INTERIM] = "too_many_interim",
    [HTTP1_E_BAD_VERSION] = "bad_version",
    [HTTP1_E_BAD_STATUS] = "bad_status",
    [HTTP1_E_BAD_REASON] = "bad_reason",
    [HTTP1_E_BAD_HEADER_NAME] = "bad_header_name",
    [HTTP1_E_BAD_HEADER_VALUE] = "bad_header_value",
    [HTTP1_E_OBS_FOLD] = "obs_fold",
    [HTTP1_E_BAD_LINE_END] = "bad_line_end",
    [HTTP1_E_BAD_CONTENT_LENGTH] = "bad_content_length",
    [HTTP1_E_CONTENT_LENGTH_CONFLICT] = "content_length_conflict",
    [HTTP1_E_BAD_TRANSFER_ENCODING] = "bad_transfer_encoding",
    [HTTP1_E_TE_WITH_LENGTH] = "te_with_content_length",
    [HTTP1_E_TE_IN_HTTP10] = "te_in_http10",
    [HTTP1_E_BAD_CHUNK_SIZE] = "bad_chunk_size",
    [HTTP1_E_CHUNK_SIZE_OVERFLOW] = "chunk_size_overflow",
    [HTTP1_E_BAD_CHUNK_EXT] = "bad_chunk_ext",
    [HTTP1_E_BAD_CHUNK_END] = "bad_chunk_end",
    [HTTP1_E_DATA_AFTER_CLOSE] = "data_after_close",
    [HTTP1_E_EOF_IN_HEAD] = "eof_in_head",
    [HTTP1_E_EOF_IN_BODY] = "eof_in_body",
};

static const char *const error_texts[HTTP1_E_COUNT] = {
    [HTTP1_E_NONE] = "no error",
    [HTTP1_E_STATUS_LINE_TOO_LONG] = "status line over the cap",
    [HTTP1_E_HEADER_LINE_TOO_LONG] = "header field line over the cap",
    [HTTP1_E_TOO_MANY_HEADERS] = "more header fields than the cap",
    [HTTP1_E_HEADERS_TOO_LONG] = "header section over the cap",
    [HTTP1_E_CHUNK_LINE_TOO_LONG] = "chunk-size line over the cap",
    [HTTP1_E_CHUNK_EXT_TOO_LONG] = "chunk extensions over the cap",
    [HTTP1_E_TRAILERS_TOO_LONG] = "trailer section over the cap",
    [HTTP1_E_LENGTH_TOO_LONG] = "Content-Length with more digits than the cap",
    [HTTP1_E_TOO_MANY_INTERIM] = "more 1xx interim responses than the cap",
    [HTTP1_E_BAD_VERSION] = "not an HTTP/1.x status line",
    [HTTP1_E_BAD_STATUS] = "status code not three digits in 100..599",
    [HTTP1_E_BAD_REASON] = "control character in the reason phrase",
    [HTTP1_E_BAD_HEADER_NAME] = "invalid header field name",
    [HTTP1_E_BAD_HEADER_VALUE] = "control character in a header field value",
    [HTTP1_E_OBS_FOLD] = "folded header line (obs-fold)",
    [HTTP1_E_BAD_LINE_END] = "CR not followed by LF",
    [HTTP1_E_BAD_CONTENT_LENGTH] = "invalid Content-Length",
    [HTTP1_E_CONTENT_LENGTH_CONFLICT] = "different Content-Length values",
    [HTTP1_E_BAD_TRANSFER_ENCODING] = "invalid Transfer-Encoding",
    [HTTP1_E_TE_WITH_LENGTH] = "both Transfer-Encoding and Content-Length",
    [HTTP1_E_TE_IN_HTTP10] = "Transfer-Encoding in an HTTP/1.0 response",
    [HTTP1_E_BAD_CHUNK_SIZE] = "invalid chunk size",
    [HTTP1_E_CHUNK_SIZE_OVERFLOW] = "chunk size over 64 bits",
    [HTTP1_E_BAD_CHUNK_EXT] = "control character in a chunk extension",
    [HTTP1_E_BAD_CHUNK_END] = "chunk data not followed by a line end",
    [HTTP1_E_DATA_AFTER_CLOSE] = "bytes after a response that closes the connection",
    [HTTP1_E_EOF_IN_HEAD] = "connection closed inside the response header",
    [HTTP1_E_EOF_IN_BODY] = "connection closed inside the response body",
};

const char *http1_error_name(enum http1_error err)
{
    return (unsigned)err < HTTP1_E_COUNT ? error_names[err] : "unknown";
}

const char *http1_error_text(enum http1_error err)
{
    return (unsigned)err < HTTP1_E_COUNT ? error_texts[err] : "unknown error";
}

enum http1_error http1_error(const struct http1_parser *p)
{
    return (enum http1_error)p->error;
}

uint64_t http1_error_offset(const struct http1_parser *p)
{
    return p->error_off;
}

int http1_error_set(const struct http1_parser *p, struct pk_err *e)
{
    char on[64];
    snprintf(on, sizeof(on), "HTTP response byte %llu", (unsigned long long)p->error_off);
    return err_set(e, PK_EPARSE, on, "invalid HTTP response", "%s",
                   http1_error_text((enum http1_error)p->error));
}
