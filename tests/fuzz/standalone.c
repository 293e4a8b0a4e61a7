/*
 * A main() for a fuzz target without libFuzzer: runs LLVMFuzzerTestOneInput
 * once on every file named on the command line or found in a directory named
 * there (sorted by name, not recursive). This is how the seed corpora and the
 * regression inputs of tests/fuzz/ run in the ordinary ctest suite, built by
 * gcc or clang, with or without sanitizers. Each input is copied into a
 * buffer of exactly its size, as libFuzzer does, so that an overread is an
 * ASan report. A crash or a failed check in the target aborts; a path that
 * cannot be read, or no input at all, fails the run.
 *
 * Threads: one.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ccpulse/common.h"
#include "ccpulse/file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs one file; 0 or -1 when it cannot be read. */
static int run_file(const char *path) {
  char err[CCP_ERRBUF_SIZE];
  size_t len;
  char *text = ccp_file_read(path, &len, err, sizeof err);
  if (!text) {
    fprintf(stderr, "%s\n", err);
    return -1;
  }
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact)
    abort();
  memcpy(exact, text, len);
  ccp_free(text);
  fprintf(stderr, "running %s (%zu bytes)\n", path, len);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv) {
  long ran = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "cannot read '%s'\n", argv[i]);
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (run_file(argv[i]) != 0)
        return 1;
      ran++;
      continue;
    }
    struct dirent **ents;
    int n = scandir(argv[i], &ents, NULL, by_name);
    if (n < 0) {
      fprintf(stderr, "cannot list '%s'\n", argv[i]);
      return 1;
    }
    for (int k = 0; k < n; k++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], ents[k]->d_name);
      if (ents[k]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        if (run_file(path) != 0)
          return 1;
        ran++;
      }
      free(ents[k]);
    }
    free(ents);
  }
  printf("%ld inputs ran without a failure\n", ran);
  return ran > 0 ? 0 : 1;
}
