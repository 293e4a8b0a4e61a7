/*
 * Event type and channel symbols (KPIS.md §1), in Avro enum order.
 * Pure functions; any thread.
 */
#include "ccpulse/event.h"

#include <string.h>

static const char *const type_names[CCP_EV__COUNT] = {
    "OPENED",   "ASSIGNED", "AGENT_REPLY", "CUSTOMER_REPLY", "TRANSFERRED", "HANDLED",
    "RESOLVED", "REOPENED", "ABANDONED",   "SURVEY",         "QA_REVIEWED"};

static const char *const channel_names[CCP_CH__COUNT] = {"PHONE", "CHAT", "EMAIL", "SOCIAL"};

void ccp_event_clear(ccp_event_t *ev) {
  memset(ev, 0, sizeof *ev);
  ev->talk_ms = ev->hold_ms = ev->acw_ms = CCP_NULL_I64;
  ev->csat = ev->nps = ev->ces = ev->qa_errors = CCP_NULL_I32;
}

static int lookup(const char *const *names, int n, const char *s, size_t len) {
  for (int i = 0; i < n; i++)
    if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
      return i;
  return -1;
}

const char *ccp_event_type_name(int type) {
  return type >= 0 && type < CCP_EV__COUNT ? type_names[type] : NULL;
}

int ccp_event_type_parse(const char *s, size_t len) {
  return lookup(type_names, CCP_EV__COUNT, s, len);
}

const char *ccp_channel_name(int ch) {
  return ch >= 0 && ch < CCP_CH__COUNT ? channel_names[ch] : NULL;
}

int ccp_channel_parse(const char *s, size_t len) {
  return lookup(channel_names, CCP_CH__COUNT, s, len);
}
