/*
 * Confluent Schema Registry client: writer schemas by id over HTTP(S),
 * compiled once and cached (docs/schemas.md; the contract is in
 * include/ccpulse/registry.h).
 *
 * Design. The cache is an array of entries sorted by id, each holding the
 * compiled decoder, or the reason of the last failed fetch and when the id
 * may be asked again (permanent: never). `mu` guards the array and the
 * entries; it is held for lookups and updates only, never across network
 * I/O. `fetch_mu` serialises fetches and owns the one libcurl easy handle
 * (a handle is not thread-safe; reusing it keeps the connection alive): a
 * thread that misses takes fetch_mu, looks again (another thread may just
 * have fetched the id or recorded its failure), fetches without mu, and
 * stores the result under mu. So a miss costs one fetch per id, or one per
 * back-off period while it fails, whatever the number of workers; the
 * workers keep their own copy of (id, decoder) pairs (src/consume/worker.c)
 * and take no lock on the per-record path once an id is known.
 *
 * Secrets: the user and password are parsed out of the URL (or taken from
 * basic.auth.user.info) and handed to libcurl with CURLOPT_USERNAME and
 * CURLOPT_PASSWORD; the URL kept for requests and messages has none.
 * ccp_config_redact_url() hides the user info of a URL that could not be
 * parsed.
 *
 * Threads: see registry.h. Counters are relaxed atomics: statistics only.
 */
#include "ccpulse/registry.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ccpulse/buf.h"
#include "ccpulse/clock.h"
#include "ccpulse/config.h"
#include "ccpulse/log.h"
#include "ccpulse/version.h"

/** Largest response body accepted (a schema is a few KB; Confluent caps them at 1 MB). */
#define MAX_BODY (8u << 20)

typedef struct entry {
  uint32_t id;
  int permanent;         /* the failure never passes: do not ask again */
  ccp_avro_decoder_t *d; /* compiled schema, or NULL after a failure */
  int64_t retry_at;      /* monotonic ms: ask again from then on (failures) */
  char *err;             /* reason of the failure (owned), NULL with d */
} entry_t;

struct ccp_registry {
  char *base; /* URL without credentials or trailing '/': requests and messages */
  char *user; /* NULL = no basic auth */
  char *pass;
  int64_t retry_ms;
  int64_t (*clock_ms)(void);

  pthread_mutex_t mu; /* guards e, n, cap and every entry */
  entry_t **e;        /* sorted by id */
  size_t n, cap;

  pthread_mutex_t fetch_mu; /* one fetch at a time; guards curl and body */
  CURL *curl;
  ccp_buf_t body;
  char curl_err[CURL_ERROR_SIZE];
  struct curl_slist *headers;

  _Atomic int64_t fetches, errors, schemas;
};

/* ---- small helpers ------------------------------------------------------- */

/* "user:password" (first ':' splits: a password may hold ':'). */
static void split_user_info(const char *ui, char **user, char **pass) {
  const char *colon = strchr(ui, ':');
  *user = ccp_strndup(ui, (size_t)(colon - ui));
  *pass = ccp_strdup(colon + 1);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque) {
  ccp_buf_t *b = opaque;
  size_t n = size * nmemb;
  if (b->len + n > MAX_BODY)
    return 0; /* CURLE_WRITE_ERROR */
  ccp_buf_append(b, data, n);
  return n;
}

/* Duration as messages show it: "30 s", "1500 ms". */
static void fmt_ms(int64_t ms, char *out, size_t len) {
  if (ms % 1000 == 0)
    snprintf(out, len, "%lld s", (long long)(ms / 1000));
  else
    snprintf(out, len, "%lld ms", (long long)ms);
}

/* ---- the response -------------------------------------------------------- */

int ccp_registry_parse_response(const char *body, size_t len, char **schema, char *errbuf,
                                size_t errlen) {
  json_error_t je;
  json_t *root = json_loadb(body ? body : "", len, 0, &je);
  int rc = -CCP_EPARSE;
  *schema = NULL;
  if (!root) {
    snprintf(errbuf, errlen, "registry response is not JSON: %s (byte %d)", je.text,
             (int)je.position);
    return rc;
  }
  json_t *type = json_object_get(root, "schemaType");
  json_t *refs = json_object_get(root, "references");
  json_t *s = json_object_get(root, "schema");
  if (!json_is_object(root)) {
    snprintf(errbuf, errlen, "registry response is not a JSON object");
  } else if (type && !json_is_null(type) &&
             (!json_is_string(type) || strcmp(json_string_value(type), "AVRO") != 0)) {
    snprintf(errbuf, errlen, "the schema is of type '%.40s', not AVRO",
             json_is_string(type) ? json_string_value(type) : "?");
  } else if (refs && !json_is_null(refs) && !(json_is_array(refs) && json_array_size(refs) == 0)) {
    snprintf(errbuf, errlen,
             "the schema refers to other registered schemas (\"references\"), which ccpulse "
             "does not resolve");
  } else if (!json_is_string(s)) {
    snprintf(errbuf, errlen, "registry response has no \"schema\" string");
  } else if (json_string_length(s) == 0) { /* (jansson refuses \u0000 without JSON_ALLOW_NUL) */
    snprintf(errbuf, errlen, "registry response has an empty \"schema\"");
  } else {
    *schema = ccp_strndup(json_string_value(s), json_string_length(s));
    rc = 0;
  }
  json_decref(root);
  return rc;
}

/* The "message" of a registry error body ({"error_code":40403,"message":
 * "Schema 9 not found"}) as ": message", or "" when there is none. */
static void error_message(const ccp_buf_t *b, char *out, size_t len) {
  out[0] = '\0';
  json_t *root = b->len ? json_loadb(b->data, b->len, 0, NULL) : NULL;
  json_t *m = root ? json_object_get(root, "message") : NULL;
  if (json_is_string(m))
    snprintf(out, len, ": %.200s", json_string_value(m));
  json_decref(root);
}

/* ---- client ---------------------------------------------------------------- */

ccp_registry_t *ccp_registry_new(const ccp_registry_opts_t *o, char *errbuf, size_t errlen) {
  char shown[1200];
  ccp_config_redact_url(o->url ? o->url : "", shown, sizeof shown);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(errbuf, errlen, "schema registry: cannot initialise libcurl");
    return NULL;
  }
  ccp_registry_t *r = ccp_calloc(1, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_mutex_init(&r->fetch_mu, NULL);
  ccp_buf_init(&r->body);
  r->retry_ms = o->retry_ms;
  r->clock_ms = o->clock_ms ? o->clock_ms : ccp_clock_mono_ms;
  char *scheme = NULL, *user = NULL, *pass = NULL, *query = NULL, *clean = NULL;
  int ok = 0;
  CURLU *u = curl_url();
  CURLUcode uc = curl_url_set(u, CURLUPART_URL, o->url ? o->url : "", 0);
  if (uc != CURLUE_OK) {
    snprintf(errbuf, errlen, "config key 'schema.registry.url': '%s' is not a URL: %s", shown,
             curl_url_strerror(uc));
    goto fail;
  }
  curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
  if (!scheme || (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
    snprintf(errbuf, errlen, "config key 'schema.registry.url': '%s' is not http:// or https://",
             shown);
    goto fail;
  }
  if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK && query && *query) {
    snprintf(errbuf, errlen, "config key 'schema.registry.url': '%s' must not have a query", shown);
    goto fail;
  }
  curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE);
  curl_url_get(u, CURLUPART_PASSWORD, &pass, CURLU_URLDECODE);
  if (o->user_info && *o->user_info) {
    if (user || pass) {
      snprintf(errbuf, errlen,
               "config key 'schema.registry.basic.auth.user.info': the URL '%s' holds "
               "credentials too; give them in one place",
               shown);
      goto fail;
    }
    split_user_info(o->user_info, &r->user, &r->pass);
  } else if (user) {
    r->user = ccp_strdup(user);
    r->pass = ccp_strdup(pass ? pass : "");
  }
  curl_url_set(u, CURLUPART_USER, NULL, 0);
  curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
  curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
  if (curl_url_get(u, CURLUPART_URL, &clean, 0) != CURLUE_OK || !clean) {
    snprintf(errbuf, errlen, "config key 'schema.registry.url': '%s' is not a URL", shown);
    goto fail;
  }
  size_t n = strlen(clean);
  while (n && clean[n - 1] == '/')
    n--;
  r->base = ccp_strndup(clean, n);

  if (!(r->curl = curl_easy_init())) {
    snprintf(errbuf, errlen, "schema registry: cannot create a libcurl handle");
    goto fail;
  }
  CURL *h = r->curl;
  r->headers =
      curl_slist_append(NULL, "Accept: application/vnd.schemaregistry.v1+json, application/json");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "ccpulse/" CCP_VERSION_STRING);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curl_err);
  if (r->user) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, r->user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, r->pass);
  }
  ok = 1;

fail: /* and success: the URL parts go either way */
  curl_free(scheme);
  curl_free(user);
  curl_free(pass);
  curl_free(query);
  curl_free(clean);
  curl_url_cleanup(u);
  if (!ok) {
    ccp_registry_free(r);
    r = NULL;
  }
  return r;
}

void ccp_registry_free(ccp_registry_t *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->n; i++) {
    ccp_avro_decoder_free(r->e[i]->d);
    ccp_free(r->e[i]->err);
    ccp_free(r->e[i]);
  }
  ccp_free(r->e);
  if (r->curl)
    curl_easy_cleanup(r->curl);
  curl_slist_free_all(r->headers);
  ccp_buf_release(&r->body);
  if (r->pass) /* the secret does not linger in freed memory */
    memset(r->pass, 0, strlen(r->pass));
  ccp_free(r->pass);
  ccp_free(r->user);
  ccp_free(r->base);
  pthread_mutex_destroy(&r->mu);
  pthread_mutex_destroy(&r->fetch_mu);
  ccp_free(r);
  curl_global_cleanup();
}

const char *ccp_registry_url(const ccp_registry_t *r) { return r->base; }

void ccp_registry_stats(ccp_registry_t *r, ccp_registry_stats_t *out) {
  out->fetches = atomic_load_explicit(&r->fetches, memory_order_relaxed);
  out->fetch_errors = atomic_load_explicit(&r->errors, memory_order_relaxed);
  out->schemas = atomic_load_explicit(&r->schemas, memory_order_relaxed);
}

/* Under mu: the entry of id, created (failed, due now) when absent. */
static entry_t *entry_of(ccp_registry_t *r, uint32_t id, int create) {
  size_t lo = 0, hi = r->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (r->e[mid]->id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < r->n && r->e[lo]->id == id)
    return r->e[lo];
  if (!create)
    return NULL;
  if (r->n == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 16;
    r->e = ccp_realloc(r->e, r->cap * sizeof *r->e);
  }
  memmove(&r->e[lo + 1], &r->e[lo], (r->n - lo) * sizeof *r->e);
  entry_t *e = ccp_calloc(1, sizeof *e);
  e->id = id;
  r->e[lo] = e;
  r->n++;
  return e;
}

/* Under mu: the answer a known entry gives now. 1 = answered (*d set, or
 * errbuf filled), 0 = unknown or due to be asked again. */
static int answer(ccp_registry_t *r, uint32_t id, const ccp_avro_decoder_t **d, char *errbuf,
                  size_t errlen) {
  entry_t *e = entry_of(r, id, 0);
  if (!e)
    return 0;
  if (e->d) {
    *d = e->d;
    return 1;
  }
  int64_t left = e->retry_at - r->clock_ms();
  if (e->permanent) {
    snprintf(errbuf, errlen, "%s", e->err);
    return 1;
  }
  if (left > 0) {
    char when[32];
    fmt_ms(left, when, sizeof when);
    snprintf(errbuf, errlen, "%s; asked again in %s", e->err, when);
    return 1;
  }
  return 0;
}

/* Under fetch_mu: one GET of id's schema. Returns the decoder, or NULL
 * with the reason in errbuf, *permanent set when it cannot pass and
 * *severe when it is a configuration problem (credentials). */
static ccp_avro_decoder_t *fetch(ccp_registry_t *r, uint32_t id, int *permanent, int *severe,
                                 char *errbuf, size_t errlen) {
  char url[1400];
  snprintf(url, sizeof url, "%s/schemas/ids/%u", r->base, id);
  ccp_buf_clear(&r->body);
  r->curl_err[0] = '\0';
  curl_easy_setopt(r->curl, CURLOPT_URL, url);
  atomic_fetch_add_explicit(&r->fetches, 1, memory_order_relaxed);
  int64_t t0 = ccp_clock_mono_ms();
  CURLcode cc = curl_easy_perform(r->curl);
  long status = 0;
  curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
  *permanent = *severe = 0;
  if (cc != CURLE_OK) {
    if (cc == CURLE_WRITE_ERROR)
      snprintf(errbuf, errlen,
               "cannot fetch schema id %u from schema registry '%s': response larger than %u "
               "MB",
               id, r->base, MAX_BODY >> 20);
    else
      snprintf(errbuf, errlen, "cannot reach schema registry '%s' for schema id %u: %s", r->base,
               id, r->curl_err[0] ? r->curl_err : curl_easy_strerror(cc));
    return NULL;
  }
  char msg[256];
  if (status == 401 || status == 403) {
    if (r->user)
      snprintf(errbuf, errlen,
               "schema registry '%s' refused the credentials of user '%s' (HTTP %ld); check "
               "schema.registry.basic.auth.user.info",
               r->base, r->user, status);
    else
      snprintf(errbuf, errlen,
               "schema registry '%s' wants credentials (HTTP %ld); set "
               "schema.registry.basic.auth.user.info",
               r->base, status);
    *severe = 1; /* a configuration problem: ERROR, not WARN */
    return NULL;
  }
  if (status != 200) {
    error_message(&r->body, msg, sizeof msg);
    if (status == 404)
      snprintf(errbuf, errlen, "schema id %u is not registered at '%s' (HTTP 404%s)", id, r->base,
               msg);
    else
      snprintf(errbuf, errlen, "schema registry '%s' answered HTTP %ld for schema id %u%s", r->base,
               status, id, msg);
    return NULL;
  }
  char *text = NULL, err[CCP_ERRBUF_SIZE / 2];
  if (ccp_registry_parse_response(r->body.data, r->body.len, &text, err, sizeof err) != 0) {
    snprintf(errbuf, errlen, "schema id %u from '%s': %s", id, r->base, err);
    return NULL;
  }
  ccp_avro_decoder_t *d = ccp_avro_decoder_new(text, strlen(text), err, sizeof err);
  if (!d) {
    /* an id stands for one schema for ever: asking again cannot help */
    *permanent = 1;
    snprintf(errbuf, errlen, "schema id %u from '%s' cannot be read as a ticket event: %s", id,
             r->base, err);
  } else {
    ccp_log(CCP_LOG_INFO, "registry", "schema id %u fetched from '%s' (%zu bytes, %lld ms)", id,
            r->base, strlen(text), (long long)(ccp_clock_mono_ms() - t0));
  }
  ccp_free(text);
  return d;
}

const ccp_avro_decoder_t *ccp_registry_get(ccp_registry_t *r, uint32_t id, char *errbuf,
                                           size_t errlen) {
  const ccp_avro_decoder_t *d = NULL;
  pthread_mutex_lock(&r->mu);
  int known = answer(r, id, &d, errbuf, errlen);
  pthread_mutex_unlock(&r->mu);
  if (known)
    return d;

  pthread_mutex_lock(&r->fetch_mu);
  /* another thread may have fetched it, or failed, while this one waited */
  pthread_mutex_lock(&r->mu);
  known = answer(r, id, &d, errbuf, errlen);
  pthread_mutex_unlock(&r->mu);
  if (!known) {
    int permanent, severe;
    char err[CCP_ERRBUF_SIZE];
    ccp_avro_decoder_t *nd = fetch(r, id, &permanent, &severe, err, sizeof err);
    pthread_mutex_lock(&r->mu);
    entry_t *e = entry_of(r, id, 1);
    ccp_free(e->err);
    e->err = NULL;
    if (nd) {
      e->d = nd;
      atomic_fetch_add_explicit(&r->schemas, 1, memory_order_relaxed);
    } else {
      e->err = ccp_strdup(err);
      e->permanent = permanent;
      e->retry_at = r->clock_ms() + r->retry_ms;
      atomic_fetch_add_explicit(&r->errors, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&r->mu);
    d = nd;
    if (!nd) {
      char when[32];
      fmt_ms(r->retry_ms, when, sizeof when);
      if (permanent)
        snprintf(errbuf, errlen, "%s", err);
      else
        snprintf(errbuf, errlen, "%s; asked again in %s", err, when);
      ccp_log(severe ? CCP_LOG_ERROR : CCP_LOG_WARN, "registry",
              "%s; its records go to the dead-letter topic%s", errbuf,
              permanent ? "" : " meanwhile");
    }
  }
  pthread_mutex_unlock(&r->fetch_mu);
  return d;
}
