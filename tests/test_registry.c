/*
 * Unit tests of src/decode/registry.c without a registry: the response
 * parser ({"schema": "<escaped JSON>"} and what it refuses), the URL and
 * credential checks of ccp_registry_new() (messages never show the
 * password), and the failure path of ccp_registry_get() against a loopback
 * port nothing listens on: the reason, no new request during the back-off,
 * a new one after it (a test clock). The fetches themselves, against a
 * registry stand-in, are in test_registry_mock.c.
 */
#include "ccpulse/registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ccp_test.h"

static char err[CCP_ERRBUF_SIZE];

static void test_parse(void) {
  char *s = NULL;
  const char *ok =
      "{\"schema\":\"{\\\"type\\\":\\\"record\\\",\\\"name\\\":\\\"T\\\",\\\"fields\\\""
      ":[]}\",\"schemaType\":\"AVRO\",\"references\":[]}";
  T_EQ_INT(ccp_registry_parse_response(ok, strlen(ok), &s, err, sizeof err), 0);
  T_EQ_STR(s, "{\"type\":\"record\",\"name\":\"T\",\"fields\":[]}");
  ccp_free(s);
  /* schemaType absent = AVRO (the registry leaves it out for Avro) */
  const char *bare = "{\"schema\":\"\\\"string\\\"\"}";
  T_EQ_INT(ccp_registry_parse_response(bare, strlen(bare), &s, err, sizeof err), 0);
  T_EQ_STR(s, "\"string\"");
  ccp_free(s);

  static const struct {
    const char *body, *want;
  } bad[] = {
      {"<html>502 Bad Gateway</html>", "registry response is not JSON: "},
      {"[1,2]", "registry response is not a JSON object"},
      {"{\"schema\":42}", "registry response has no \"schema\" string"},
      {"{\"id\":3}", "registry response has no \"schema\" string"},
      {"{\"schema\":\"syntax = \\\"proto3\\\";\",\"schemaType\":\"PROTOBUF\"}",
       "the schema is of type 'PROTOBUF', not AVRO"},
      {"{\"schema\":\"\\\"X\\\"\",\"references\":[{\"name\":\"X\",\"subject\":\"x\",\"version\":1}]"
       "}",
       "the schema refers to other registered schemas (\"references\"), which ccpulse does not "
       "resolve"},
      {"{\"schema\":\"\"}", "registry response has an empty \"schema\""},
      {"{\"schema\":\"a\\u0000b\"}", "registry response is not JSON: "},
  };
  for (size_t i = 0; i < CCP_ARRAY_LEN(bad); i++) {
    s = (char *)1;
    err[0] = '\0';
    T_EQ_INT(ccp_registry_parse_response(bad[i].body, strlen(bad[i].body), &s, err, sizeof err),
             -CCP_EPARSE);
    T_TRUE(s == NULL);
    if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
      T_FAIL_("body %s: got \"%s\", want \"%s...\"", bad[i].body, err, bad[i].want);
  }
}

static ccp_registry_t *make(const char *url, const char *ui) {
  ccp_registry_opts_t o = {.url = url,
                           .user_info = ui,
                           .connect_timeout_ms = 500,
                           .timeout_ms = 1000,
                           .retry_ms = 30000};
  err[0] = '\0';
  return ccp_registry_new(&o, err, sizeof err);
}

static void test_new(void) {
  ccp_registry_t *r = make("http://reg.example:8081/", NULL);
  T_TRUE(r != NULL);
  if (r)
    T_EQ_STR(ccp_registry_url(r), "http://reg.example:8081");
  ccp_registry_free(r);
  /* credentials leave the URL that requests and messages use */
  r = make("https://bob:hunter2@reg.example/sr/", NULL);
  T_TRUE(r != NULL);
  if (r)
    T_EQ_STR(ccp_registry_url(r), "https://reg.example/sr");
  ccp_registry_free(r);

  T_TRUE(make("ftp://bob:hunter2@reg.example", NULL) == NULL);
  T_EQ_STR(err, "config key 'schema.registry.url': 'ftp://***@reg.example' is not http:// "
                "or https://");
  T_TRUE(make("http://bob:hunter2@reg.example/?x=1", NULL) == NULL);
  T_EQ_STR(err, "config key 'schema.registry.url': 'http://***@reg.example/?x=1' must not "
                "have a query");
  T_TRUE(make("http://bob:hunter2@reg.example", "bob:hunter3") == NULL);
  T_EQ_STR(err, "config key 'schema.registry.basic.auth.user.info': the URL "
                "'http://***@reg.example' holds credentials too; give them in one place");
  T_TRUE(make("http://bob:hunter2@[::1", NULL) == NULL);
  T_TRUE(strncmp(err, "config key 'schema.registry.url': 'http://***@[::1' is not a URL: ",
                 strlen("config key 'schema.registry.url': 'http://***@[::1' is not a URL: ")) ==
         0);
  T_TRUE(strstr(err, "hunter") == NULL);
}

static int64_t fake_now;
static int64_t fake_clock(void) { return fake_now; }

/* A loopback port that nothing listens on (bound, then closed). */
static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  CCP_ASSERT(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  CCP_ASSERT(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

static void test_unreachable(void) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", closed_port());
  ccp_registry_opts_t o = {.url = url,
                           .user_info = "bob:hunter2",
                           .connect_timeout_ms = 500,
                           .timeout_ms = 1000,
                           .retry_ms = 30000,
                           .clock_ms = fake_clock};
  fake_now = 1000;
  ccp_registry_t *r = ccp_registry_new(&o, err, sizeof err);
  T_TRUE(r != NULL);
  if (!r)
    return;
  T_TRUE(ccp_registry_get(r, 5, err, sizeof err) == NULL);
  char want[256];
  snprintf(want, sizeof want, "cannot reach schema registry '%s' for schema id 5: ", url);
  T_TRUE(strncmp(err, want, strlen(want)) == 0);
  T_TRUE(strstr(err, "; asked again in 30 s") != NULL);
  T_TRUE(strstr(err, "hunter2") == NULL);
  ccp_registry_stats_t st;
  ccp_registry_stats(r, &st);
  T_EQ_INT(st.fetches, 1);
  /* during the back-off: the same reason, no request */
  fake_now += 29000;
  T_TRUE(ccp_registry_get(r, 5, err, sizeof err) == NULL);
  T_TRUE(strncmp(err, want, strlen(want)) == 0 && strstr(err, "; asked again in 1 s") != NULL);
  ccp_registry_stats(r, &st);
  T_EQ_INT(st.fetches, 1);
  /* another id is asked at once */
  T_TRUE(ccp_registry_get(r, 6, err, sizeof err) == NULL);
  ccp_registry_stats(r, &st);
  T_EQ_INT(st.fetches, 2);
  /* after it: asked again */
  fake_now += 1000;
  T_TRUE(ccp_registry_get(r, 5, err, sizeof err) == NULL);
  ccp_registry_stats(r, &st);
  T_EQ_INT(st.fetches, 3);
  T_EQ_INT(st.fetch_errors, 3);
  T_EQ_INT(st.schemas, 0);
  ccp_registry_free(r);
}

int main(void) {
  T_RUN(test_parse);
  T_RUN(test_new);
  T_RUN(test_unreachable);
  return T_DONE();
}
