/*
 * bench_engine — replay throughput of the KPI engine from Avro bytes in
 * memory, next to the decode-only floor, and memory per open ticket.
 *
 *   bench_engine [--events N] [--seed S] [--file PATH] [--json OUT]
 *                [--cpu C] [--sample K]
 *
 * Steps, all in one process and one run:
 *   1. generate the workload (src/gen/gen.h; default 6M events, ~1.1M
 *      tickets open at the peak) and encode it into an Avro OCF (null codec)
 *      in memory with the project's writer; --file also writes it out;
 *   2. decode-only pass: ccp_ocf_reader_new_mem + ccp_ocf_reader_next over
 *      every record, touching fields so nothing is optimised away;
 *   3. replay pass: the same loop, the events decoded into batches of
 *      CCP_ENGINE_BATCH (strings copied) and applied with
 *      ccp_engine_process_batch (default config), then one
 *      ccp_engine_snapshot_json. Every K events (default 65536) the
 *      open-ticket count is sampled; at each new peak VmRSS and
 *      ccp_mem_used() are read (a few dozen /proc reads in all: noise);
 *   4. checkpoint: the engine as the replay left it is saved
 *      (ccp_engine_save), a memcpy of the same bytes into a fresh buffer
 *      is timed beside it, the bytes are loaded into a new engine
 *      (ccp_engine_load) and its snapshot must equal the original's.
 *
 * Figures (bench/README.md explains each): decode and replay events/s, their
 * ratio, the engine's own ns/event (replay time minus decode time, per
 * event), peak open tickets, RSS before the replay and at the peak, bytes per
 * open ticket, the snapshot's diagnostics, checkpoint bytes per open ticket
 * and save/load speed next to memcpy, and what each structure of the engine
 * holds at the peak per open ticket (engine_int.h: tickets, retention map,
 * timers, duplicate filter, scopes' windows, scopes' customer maps, other). A human summary goes to
 * stdout, the same figures as JSON to --json.
 *
 * Single thread, pinned to CPU 0 by default (--cpu -1 leaves the affinity
 * alone). Timing uses CLOCK_MONOTONIC.
 */
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ccpulse/buf.h"
#include "ccpulse/clock.h"
#include "ccpulse/config.h"
#include "ccpulse/decode.h"
#include "ccpulse/engine.h"
#include "ccpulse/ocf.h"
#include "ccpulse/tz.h"
#include "engine/engine_int.h"
#include "gen/gen.h"

#define GOAL_EPS 2000000.0        /* replay events/s on one core */
#define GOAL_BYTES_PER_OPEN 100.0 /* RSS growth per open ticket */

/* Bytes held per structure (the parts of ccp_mem_used() an engine owns):
 * read at the peak of open tickets, reported per open ticket. */
enum { P_TICKETS, P_ACTS, P_TIMERS, P_DEDUP, P_SCOPES, P_CUST, P_OTHER, P_N };
static const char *const part_name[P_N] = {"tickets",       "retention",       "timers", "dedup",
                                           "scope_windows", "scope_customers", "other"};

static void mem_parts(const ccp_engine_t *e, size_t out[P_N]) {
  memset(out, 0, P_N * sizeof *out);
  out[P_TICKETS] = ccp_tickets_bytes(&e->tickets);
  out[P_ACTS] = ccp_u64map_bytes(&e->acts);
  out[P_TIMERS] = ccp_timers_bytes(&e->timers);
  out[P_DEDUP] = ccp_u64map_bytes(&e->dedup);
  for (uint32_t i = 0; i < e->nscopes; i++) {
    const ccp_scope_t *sc = e->scopes[i];
    out[P_SCOPES] += sizeof *sc + sc->name_len + 1 + ccp_wset_bytes(&sc->ws, &e->geom) +
                     sc->logcap * sizeof *sc->log;
    out[P_CUST] += ccp_u32map_bytes(&sc->cust) +
                   (sc->cust_x ? sizeof *sc->cust_x + sc->cust_x->n * sizeof(uint64_t) : 0);
  }
  out[P_OTHER] = ccp_u64map_bytes(&e->scope_index) + ccp_u64map_bytes(&e->combo_index) +
                 ccp_u64map_bytes(&e->ids) + ccp_u64map_bytes(&e->rs) +
                 e->scopes_cap * sizeof *e->scopes + e->combos_cap * sizeof *e->combos +
                 e->wsort_cap * sizeof *e->wsort + e->dirty_cap * sizeof *e->dirty +
                 e->xs_cap * sizeof *e->xs +
                 (e->rs_x ? sizeof *e->rs_x + 2 * e->rs_x->n * sizeof(uint64_t) : 0);
}

/* A "Key:   123 kB" line of /proc/self/status, in bytes; -1 if absent. */
static long long proc_status_bytes(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    return -1;
  char line[256];
  size_t klen = strlen(key);
  long long v = -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
      v = strtoll(line + klen + 1, NULL, 10) * 1024;
      break;
    }
  }
  fclose(f);
  return v;
}

static void cpu_model(char *out, size_t n) {
  snprintf(out, n, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f)
    return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      char *c = strchr(line, ':');
      if (c) {
        c++;
        while (*c == ' ' || *c == '\t')
          c++;
        c[strcspn(c, "\n")] = 0;
        snprintf(out, n, "%s", c);
      }
      break;
    }
  }
  fclose(f);
}

static void usage(FILE *out) {
  fprintf(out, "usage: bench_engine [--events N] [--seed S] [--file PATH] [--json OUT]\n"
               "                    [--cpu C] [--sample K]\n"
               "  --events N   events to generate (default 6000000)\n"
               "  --seed S     workload seed (default 1)\n"
               "  --file PATH  also write the generated Avro OCF to PATH\n"
               "  --json OUT   write the figures as JSON to OUT\n"
               "  --cpu C      pin to CPU C (default 0; -1: do not pin)\n"
               "  --sample K   sample open tickets and RSS every K events (default 65536)\n");
}

static int parse_u64(const char *s, unsigned long long *v) {
  char *end;
  errno = 0;
  *v = strtoull(s, &end, 10);
  return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

/* Loop state shared by the two passes. */
typedef struct pass {
  double seconds;
  uint64_t events;
  uint64_t checksum; /* folds decoded fields: keeps the decode honest */
  double cpu;        /* CPU seconds of this thread (user + system) */
} pass_t;

/* CPU time of the calling thread: unlike wall time, it leaves out the time
 * other processes held the core, so ratios stay comparable on a shared machine. */
static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int open_reader(ccp_ocf_reader_t **r, const ccp_buf_t *ocf) {
  char err[CCP_ERRBUF_SIZE];
  *r = ccp_ocf_reader_new_mem(ocf->data, ocf->len, "bench.avro", err, sizeof err);
  if (!*r) {
    fprintf(stderr, "bench_engine: cannot read the generated OCF: %s\n", err);
    return -1;
  }
  return 0;
}

static inline uint64_t fold(uint64_t h, const ccp_event_t *ev) {
  return (h ^ ((uint64_t)ev->ts + ev->ticket_id.len + ev->event_id.len + ev->type)) *
         0x100000001B3ull;
}

int main(int argc, char **argv) {
  unsigned long long nevents = 6000000, seed = 1, sample = 65536;
  long cpu = 0;
  const char *file = NULL, *json_out = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    }
    int bad = 0;
    if (!v) {
      bad = 1;
    } else if (!strcmp(a, "--events")) {
      bad = parse_u64(v, &nevents) || nevents == 0;
    } else if (!strcmp(a, "--seed")) {
      bad = parse_u64(v, &seed);
    } else if (!strcmp(a, "--sample")) {
      bad = parse_u64(v, &sample) || sample == 0;
    } else if (!strcmp(a, "--cpu")) {
      char *end;
      cpu = strtol(v, &end, 10);
      bad = end == v || *end || cpu < -1;
    } else if (!strcmp(a, "--file")) {
      file = v;
    } else if (!strcmp(a, "--json")) {
      json_out = v;
    } else {
      bad = 1;
    }
    if (bad) {
      fprintf(stderr, "bench_engine: bad option '%s'%s%s\n", a, v ? " " : "", v ? v : "");
      usage(stderr);
      return 2;
    }
    i++;
  }

  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      fprintf(stderr, "bench_engine: cannot pin to cpu %ld: %s\n", cpu, strerror(errno));
      return 1;
    }
  }

  /* 1. workload -> OCF bytes in memory */
  double t0 = ccp_clock_mono_s();
  ccp_gen_opts_t go = {.events = nevents, .seed = seed};
  ccp_gen_t *g = ccp_gen_new(&go);
  if (!g) {
    fprintf(stderr, "bench_engine: cannot generate %llu events (too many)\n", nevents);
    return 1;
  }
  ccp_gen_stats_t gst = *ccp_gen_stats(g);
  double t_gen = ccp_clock_mono_s() - t0;

  t0 = ccp_clock_mono_s();
  char err[CCP_ERRBUF_SIZE];
  ccp_buf_t ocf;
  ccp_buf_init(&ocf);
  ccp_ocf_writer_opts_t wo = {.codec = CCP_OCF_NULL};
  ccp_ocf_writer_t *w = ccp_ocf_writer_new(NULL, &ocf, &wo, err, sizeof err);
  if (!w) {
    fprintf(stderr, "bench_engine: cannot create the OCF writer: %s\n", err);
    return 1;
  }
  ccp_event_t ev;
  while (ccp_gen_next(g, &ev) == 0) {
    int rc = ccp_ocf_writer_append(w, &ev);
    if (rc) {
      fprintf(stderr, "bench_engine: cannot encode an event: %s\n", ccp_strerror(rc));
      return 1;
    }
  }
  if (ccp_ocf_writer_close(w) != 0) {
    fprintf(stderr, "bench_engine: cannot finish the OCF\n");
    return 1;
  }
  ccp_gen_free(g);
  malloc_trim(0); /* hand the generator's records back before measuring */
  double t_enc = ccp_clock_mono_s() - t0;

  if (file) {
    FILE *f = fopen(file, "wb");
    if (!f || fwrite(ocf.data, 1, ocf.len, f) != ocf.len || fclose(f) != 0) {
      fprintf(stderr, "bench_engine: cannot write '%s': %s\n", file, strerror(errno));
      return 1;
    }
  }

  /* 2. decode-only pass */
  ccp_ocf_reader_t *r;
  pass_t dec = {0}, rep = {0};
  if (open_reader(&r, &ocf))
    return 1;
  double c0 = thread_cpu_s();
  t0 = ccp_clock_mono_s();
  int rc;
  while ((rc = ccp_ocf_reader_next(r, &ev, NULL, err, sizeof err)) == 0) {
    dec.checksum = fold(dec.checksum, &ev);
    dec.events++;
  }
  dec.seconds = ccp_clock_mono_s() - t0;
  dec.cpu = thread_cpu_s() - c0;
  ccp_ocf_reader_free(r);
  if (rc != -CCP_EEOF) {
    fprintf(stderr, "bench_engine: decode pass failed: %s\n", err);
    return 1;
  }

  /* 3. replay pass */
  ccp_config_t cfg;
  ccp_config_init(&cfg);
  if (ccp_config_finish(&cfg, err, sizeof err) != 0 || ccp_tz_use(cfg.timezone, err, sizeof err)) {
    fprintf(stderr, "bench_engine: default config rejected: %s\n", err);
    return 1;
  }
  long long rss_base = proc_status_bytes("VmRSS");
  size_t mem_base = ccp_mem_used();
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  if (!e) {
    fprintf(stderr, "bench_engine: cannot create the engine: %s\n", err);
    return 1;
  }
  if (open_reader(&r, &ocf))
    return 1;
  int64_t peak_open = -1;
  uint64_t peak_at = 0;
  long long rss_peak = -1;
  size_t mem_peak = 0;
  size_t parts[P_N] = {0};
  uint64_t verdicts[4] = {0};
  uint64_t next_sample = sample;
  /* (open tickets, ccp_mem_used) samples before the peak: the slope between
   * half the peak and the peak is the marginal cost of one more open ticket,
   * without the fixed per-scope cost of the windows */
  enum { MAXS = 8192 };
  static int64_t s_open[MAXS];
  static size_t s_mem[MAXS];
  int ns = 0;
  ccp_buf_t snap;
  ccp_buf_init(&snap);
  c0 = thread_cpu_s();
  t0 = ccp_clock_mono_s();
  static ccp_event_batch_t batch;
  ccp_verdict_t bv[CCP_ENGINE_BATCH];
  rc = 0;
  while (rc == 0) {
    /* decode a batch (strings copied), then apply it */
    ccp_event_batch_clear(&batch);
    while (batch.n < CCP_ENGINE_BATCH &&
           (rc = ccp_ocf_reader_next(r, &ev, NULL, err, sizeof err)) == 0) {
      rep.checksum = fold(rep.checksum, &ev);
      if (ccp_event_batch_add(&batch, &ev) != 0) {
        fprintf(stderr, "bench_engine: an event does not fit a batch\n");
        return 1;
      }
    }
    if (!batch.n)
      break;
    ccp_engine_process_batch(e, batch.ev, batch.n, bv);
    for (size_t i = 0; i < batch.n; i++)
      verdicts[bv[i] & 3]++;
    rep.events += batch.n;
    if (rep.events >= next_sample) { /* sampled at the end of the batch */
      next_sample += sample;
      int64_t open = ccp_engine_open_count(e);
      if (ns < MAXS) {
        s_open[ns] = open;
        s_mem[ns++] = ccp_mem_used();
      }
      if (open > peak_open) {
        peak_open = open;
        peak_at = rep.events;
        rss_peak = proc_status_bytes("VmRSS");
        mem_peak = ccp_mem_used();
        mem_parts(e, parts);
      }
    }
  }
  double t_snap0 = ccp_clock_mono_s();
  ccp_engine_snapshot_json(e, &snap);
  double t_end = ccp_clock_mono_s();
  rep.seconds = t_end - t0;
  rep.cpu = thread_cpu_s() - c0;
  double t_snap = t_end - t_snap0;
  ccp_ocf_reader_free(r);
  if (rc != -CCP_EEOF) {
    fprintf(stderr, "bench_engine: replay pass failed: %s\n", err);
    return 1;
  }
  if (peak_open < 0) { /* fewer events than one sample */
    peak_open = ccp_engine_open_count(e);
    peak_at = rep.events;
    rss_peak = proc_status_bytes("VmRSS");
    mem_peak = ccp_mem_used();
    mem_parts(e, parts);
  }
  long long hwm = proc_status_bytes("VmHWM");
  int64_t open_end = ccp_engine_open_count(e);
  int64_t tickets_end = ccp_engine_ticket_count(e);
  if (rep.checksum != dec.checksum || rep.events != dec.events) {
    fprintf(stderr, "bench_engine: the two passes read different events\n");
    return 1;
  }

  /* the snapshot's diagnostics */
  json_error_t jerr;
  json_t *doc = json_loadb(snap.data, snap.len, 0, &jerr);
  char *diag = NULL;
  if (doc && json_object_get(doc, "diagnostics"))
    diag = json_dumps(json_object_get(doc, "diagnostics"), JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!diag) {
    fprintf(stderr, "bench_engine: snapshot is not JSON with diagnostics: %s\n", jerr.text);
    return 1;
  }

  /* 4. checkpoint: save, a memcpy of as many bytes, load, compare */
  ccp_buf_t ck, snap2;
  ccp_buf_init(&ck);
  ccp_buf_init(&snap2);
  double t_ck = ccp_clock_mono_s();
  ccp_engine_save(e, &ck);
  double save_s = ccp_clock_mono_s() - t_ck;
  char *copy = malloc(ck.len); /* fresh pages, as the save's buffer had */
  t_ck = ccp_clock_mono_s();
  memcpy(copy, ck.data, ck.len);
  double memcpy_s = ccp_clock_mono_s() - t_ck;
  t_ck = ccp_clock_mono_s();
  ccp_engine_t *loaded = ccp_engine_load(&cfg, copy, ck.len, err, sizeof err);
  double load_s = ccp_clock_mono_s() - t_ck;
  if (!loaded) {
    fprintf(stderr, "bench_engine: cannot load the checkpoint: %s\n", err);
    return 1;
  }
  ccp_engine_snapshot_json(loaded, &snap2);
  int ck_equal = snap2.len == snap.len && memcmp(snap2.data, snap.data, snap.len) == 0;
  ccp_engine_free(loaded);
  free(copy);
  double ck_bytes = (double)ck.len;
  double ck_per_open = open_end > 0 ? ck_bytes / (double)open_end : 0;
  double ck_per_held = tickets_end > 0 ? ck_bytes / (double)tickets_end : 0;
  ccp_buf_release(&snap2);
  ccp_buf_release(&ck);
  if (!ck_equal) {
    fprintf(stderr, "bench_engine: the loaded engine's snapshot differs from the original's\n");
    return 1;
  }

  double n = (double)dec.events;
  double decode_eps = n / dec.seconds, replay_eps = n / rep.seconds;
  double ratio = replay_eps / decode_eps;
  double decode_ns = dec.seconds * 1e9 / n;
  double engine_ns = (rep.seconds - dec.seconds) * 1e9 / n;
  double per_open = peak_open > 0 ? (double)(rss_peak - rss_base) / (double)peak_open : 0;
  double mem_per_open =
      peak_open > 0 ? ((double)mem_peak - (double)mem_base) / (double)peak_open : 0;
  double marginal = 0;
  for (int k = 0; k < ns && s_open[k] < peak_open; k++) {
    if (s_open[k] >= peak_open / 2) {
      marginal = ((double)mem_peak - (double)s_mem[k]) / (double)(peak_open - s_open[k]);
      break;
    }
  }
  /* the goal as a fraction of the decode floor: the engine's budget */
  double goal_ratio = GOAL_EPS / decode_eps;
  double engine_budget_ns = 1e9 / GOAL_EPS - decode_ns;
  int eps_met = replay_eps >= GOAL_EPS, bytes_met = per_open <= GOAL_BYTES_PER_OPEN;
  char model[256];
  cpu_model(model, sizeof model);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

  printf("ccpulse bench_engine: %llu events (seed %llu), %llu tickets, %llu customers\n",
         (unsigned long long)gst.events, seed, (unsigned long long)gst.tickets,
         (unsigned long long)gst.customers);
  printf("  planted: %llu duplicates, %llu late, %llu invalid\n",
         (unsigned long long)gst.duplicates, (unsigned long long)gst.late,
         (unsigned long long)gst.invalid);
  printf("  cpu: %s (%ld online), pinned to %ld\n", model, ncpu, cpu);
  printf("  generate %.2f s, encode %.2f s -> OCF %zu bytes (%.1f bytes/event)\n", t_gen, t_enc,
         ocf.len, (double)ocf.len / n);
  printf("  decode-only : %8.3f s  %12.0f events/s  %7.1f ns/event\n", dec.seconds, decode_eps,
         decode_ns);
  printf("  replay      : %8.3f s  %12.0f events/s  %7.1f ns/event (snapshot %.3f s, %zu bytes)\n",
         rep.seconds, replay_eps, rep.seconds * 1e9 / n, t_snap, snap.len);
  printf("  CPU time of the thread: decode %.3f s, replay %.3f s = %.0f events/s, "
         "replay/decode %.3f\n",
         dec.cpu, rep.cpu, n / rep.cpu, dec.cpu / rep.cpu);
  printf("  replay/decode %.3f; engine alone %.1f ns/event (budget for the goal: %.1f)\n", ratio,
         engine_ns, engine_budget_ns);
  printf("  peak open tickets %lld (at event %llu); at the end: %lld open, %lld held\n",
         (long long)peak_open, (unsigned long long)peak_at, (long long)open_end,
         (long long)tickets_end);
  printf("  RSS baseline %.1f MiB, at peak %.1f MiB, VmHWM %.1f MiB\n", rss_base / 1048576.0,
         rss_peak / 1048576.0, hwm / 1048576.0);
  printf("  bytes per open ticket: %.1f RSS, %.1f ccp_mem_used; marginal %.1f (ccp_mem_used slope "
         "from half the peak to the peak)\n",
         per_open, mem_per_open, marginal);
  printf("  at the peak, per open ticket:");
  for (int p = 0; p < P_N; p++)
    printf(" %s %.1f", part_name[p], peak_open > 0 ? (double)parts[p] / (double)peak_open : 0);
  printf("\n");
  printf("  checkpoint: %.0f bytes (%.1f per open ticket at the end, %.1f per ticket held), "
         "snapshot of the load equal: %s\n",
         ck_bytes, ck_per_open, ck_per_held, ck_equal ? "yes" : "NO");
  printf("  checkpoint save %.3f s (%.0f MB/s), load %.3f s (%.0f MB/s); memcpy of the same "
         "bytes %.3f s (%.0f MB/s)\n",
         save_s, ck_bytes / save_s / 1e6, load_s, ck_bytes / load_s / 1e6, memcpy_s,
         ck_bytes / memcpy_s / 1e6);
  printf("  verdicts: %llu accepted, %llu invalid, %llu late, %llu duplicate\n",
         (unsigned long long)verdicts[CCP_ACCEPTED], (unsigned long long)verdicts[CCP_INVALID],
         (unsigned long long)verdicts[CCP_LATE], (unsigned long long)verdicts[CCP_DUPLICATE]);
  printf("  diagnostics: %s\n", diag);
  printf("  goal >= %.0f events/s: %s (%.2fx of goal; needs replay/decode >= %.3f)\n", GOAL_EPS,
         eps_met ? "met" : "MISSED", replay_eps / GOAL_EPS, goal_ratio);
  printf("  goal <= %.0f bytes per open ticket: %s\n", GOAL_BYTES_PER_OPEN,
         bytes_met ? "met" : "MISSED");

  if (json_out) {
    ccp_buf_t j;
    ccp_buf_init(&j);
    time_t wall = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&wall));
    ccp_buf_printf(&j, "{\"bench\":\"engine\",\"date\":\"%s\",", date);
    ccp_buf_puts(&j, "\"machine\":{\"cpu_model\":");
    ccp_buf_put_json_str(&j, model, strlen(model));
    ccp_buf_printf(&j, ",\"nproc\":%ld,\"pinned_cpu\":%ld},", ncpu, cpu);
    ccp_buf_printf(&j,
                   "\"workload\":{\"events\":%llu,\"seed\":%llu,\"tickets\":%llu,"
                   "\"customers\":%llu,\"duplicates\":%llu,\"late\":%llu,\"invalid\":%llu,"
                   "\"first_ms\":%lld,\"last_ms\":%lld,\"ocf_bytes\":%zu,\"codec\":\"null\"},",
                   (unsigned long long)gst.events, seed, (unsigned long long)gst.tickets,
                   (unsigned long long)gst.customers, (unsigned long long)gst.duplicates,
                   (unsigned long long)gst.late, (unsigned long long)gst.invalid,
                   (long long)gst.first_ms, (long long)gst.last_ms, ocf.len);
    ccp_buf_puts(&j, "\"decode\":{\"seconds\":");
    ccp_buf_put_double(&j, dec.seconds);
    ccp_buf_puts(&j, ",\"cpu_seconds\":");
    ccp_buf_put_double(&j, dec.cpu);
    ccp_buf_puts(&j, ",\"eps\":");
    ccp_buf_put_double(&j, decode_eps);
    ccp_buf_puts(&j, ",\"ns_per_event\":");
    ccp_buf_put_double(&j, decode_ns);
    ccp_buf_puts(&j, "},\"replay\":{\"seconds\":");
    ccp_buf_put_double(&j, rep.seconds);
    ccp_buf_puts(&j, ",\"cpu_seconds\":");
    ccp_buf_put_double(&j, rep.cpu);
    ccp_buf_puts(&j, ",\"cpu_eps\":");
    ccp_buf_put_double(&j, n / rep.cpu);
    ccp_buf_puts(&j, ",\"eps\":");
    ccp_buf_put_double(&j, replay_eps);
    ccp_buf_puts(&j, ",\"ns_per_event\":");
    ccp_buf_put_double(&j, rep.seconds * 1e9 / n);
    ccp_buf_puts(&j, ",\"snapshot_seconds\":");
    ccp_buf_put_double(&j, t_snap);
    ccp_buf_printf(&j, ",\"snapshot_bytes\":%zu},", snap.len);
    ccp_buf_puts(&j, "\"ratio_replay_decode\":");
    ccp_buf_put_double(&j, ratio);
    ccp_buf_puts(&j, ",\"ratio_replay_decode_cpu\":");
    ccp_buf_put_double(&j, dec.cpu / rep.cpu);
    ccp_buf_puts(&j, ",\"engine_ns_per_event\":");
    ccp_buf_put_double(&j, engine_ns);
    ccp_buf_printf(&j,
                   ",\"peak_open_tickets\":%lld,\"peak_at_event\":%llu,\"open_at_end\":%lld,"
                   "\"tickets_at_end\":%lld,\"rss_baseline_bytes\":%lld,\"rss_at_peak_bytes\":%lld,"
                   "\"vm_hwm_bytes\":%lld,\"mem_used_baseline\":%zu,\"mem_used_at_peak\":%zu,",
                   (long long)peak_open, (unsigned long long)peak_at, (long long)open_end,
                   (long long)tickets_end, rss_base, rss_peak, hwm, mem_base, mem_peak);
    ccp_buf_puts(&j, "\"bytes_per_open_ticket\":");
    ccp_buf_put_double(&j, per_open);
    ccp_buf_puts(&j, ",\"marginal_bytes_per_open_ticket\":");
    ccp_buf_put_double(&j, marginal);
    ccp_buf_puts(&j, ",\"mem_used_bytes_per_open_ticket\":");
    ccp_buf_put_double(&j, mem_per_open);
    ccp_buf_puts(&j, ",\"mem_parts_per_open_ticket\":{");
    for (int p = 0; p < P_N; p++) {
      ccp_buf_printf(&j, "%s\"%s\":", p ? "," : "", part_name[p]);
      ccp_buf_put_double(&j, peak_open > 0 ? (double)parts[p] / (double)peak_open : 0);
    }
    ccp_buf_puts(&j, "}");
    ccp_buf_printf(
        &j,
        ",\"verdicts\":{\"accepted\":%llu,\"invalid\":%llu,\"late\":%llu,"
        "\"duplicate\":%llu},",
        (unsigned long long)verdicts[CCP_ACCEPTED], (unsigned long long)verdicts[CCP_INVALID],
        (unsigned long long)verdicts[CCP_LATE], (unsigned long long)verdicts[CCP_DUPLICATE]);
    ccp_buf_printf(&j, "\"diagnostics\":%s,", diag);
    ccp_buf_printf(&j, "\"checkpoint\":{\"bytes\":%.0f,\"bytes_per_open\":", ck_bytes);
    ccp_buf_put_double(&j, ck_per_open);
    ccp_buf_puts(&j, ",\"bytes_per_held\":");
    ccp_buf_put_double(&j, ck_per_held);
    ccp_buf_puts(&j, ",\"save_s\":");
    ccp_buf_put_double(&j, save_s);
    ccp_buf_puts(&j, ",\"load_s\":");
    ccp_buf_put_double(&j, load_s);
    ccp_buf_puts(&j, ",\"memcpy_s\":");
    ccp_buf_put_double(&j, memcpy_s);
    ccp_buf_puts(&j, ",\"save_mb_s\":");
    ccp_buf_put_double(&j, ck_bytes / save_s / 1e6);
    ccp_buf_puts(&j, ",\"load_mb_s\":");
    ccp_buf_put_double(&j, ck_bytes / load_s / 1e6);
    ccp_buf_puts(&j, ",\"memcpy_mb_s\":");
    ccp_buf_put_double(&j, ck_bytes / memcpy_s / 1e6);
    ccp_buf_printf(&j, ",\"snapshot_equal\":%s},", ck_equal ? "true" : "false");
    ccp_buf_puts(&j, "\"goals\":{\"replay_eps_min\":");
    ccp_buf_put_double(&j, GOAL_EPS);
    ccp_buf_printf(
        &j, ",\"replay_eps_met\":%s,\"replay_decode_ratio_needed\":", eps_met ? "true" : "false");
    ccp_buf_put_double(&j, goal_ratio);
    ccp_buf_puts(&j, ",\"engine_ns_budget\":");
    ccp_buf_put_double(&j, engine_budget_ns);
    ccp_buf_puts(&j, ",\"bytes_per_open_ticket_max\":");
    ccp_buf_put_double(&j, GOAL_BYTES_PER_OPEN);
    ccp_buf_printf(&j, ",\"bytes_per_open_ticket_met\":%s}}\n", bytes_met ? "true" : "false");
    FILE *f = fopen(json_out, "w");
    if (!f || fwrite(j.data, 1, j.len, f) != j.len || fclose(f) != 0) {
      fprintf(stderr, "bench_engine: cannot write '%s': %s\n", json_out, strerror(errno));
      return 1;
    }
    ccp_buf_release(&j);
  }

  free(diag);
  json_decref(doc);
  ccp_buf_release(&snap);
  ccp_engine_free(e);
  ccp_config_release(&cfg);
  ccp_buf_release(&ocf);
  return 0;
}
