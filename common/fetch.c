/* Blocking HTTP with libcurl's easy API. */
#include "fetch.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct membuf {
    char *p;
    size_t n;
};

static size_t collect_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct membuf *b = arg;
    size_t len = size * nmemb;
    if (b->n + len > FETCH_MAX_BODY)
        return 0; /* curl fails the transfer: past the cap is an error, not a silent cut */
    char *tmp = realloc(b->p, b->n + len + 1);
    if (tmp == NULL)
        return 0;
    memcpy(tmp + b->n, data, len);
    b->n += len;
    tmp[b->n] = '\0';
    b->p = tmp;
    return len;
}

static void hand_over(struct membuf *b, char **out)
{
    if (out)
        *out = b->p ? b->p : calloc(1, 1);
    else
        free(b->p);
}

long fetch(const char *method, const char *url, const char *const *headers, const char *body,
           long timeout_ms, char **body_out, char **headers_out)
{
    return fetch_ca(method, url, headers, body, timeout_ms, NULL, body_out, headers_out);
}

long fetch_ca(const char *method, const char *url, const char *const *headers, const char *body,
              long timeout_ms, const char *ca_file, char **body_out, char **headers_out)
{
    struct membuf b = {NULL, 0}, h = {NULL, 0};
    long status = -1;
    CURL *e = curl_easy_init();
    struct curl_slist *hl = NULL;
    if (e == NULL)
        goto done;
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    if (body)
        hl = curl_slist_append(hl, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    if (headers_out) {
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, collect_cb);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, &h);
    }
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* the mock's admin API answers HTTP/1.1 only (it reads who sent a call off that request),
     * and libcurl would pick HTTP/2 by ALPN on an https:// URL */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    if (ca_file != NULL) {
        curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    }
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
done:
    curl_slist_free_all(hl);
    if (e)
        curl_easy_cleanup(e);
    hand_over(&b, body_out);
    hand_over(&h, headers_out);
    return status;
}
