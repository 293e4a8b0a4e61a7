/*
 * Whole-file reading (see include/ccpulse/file.h). The buffer starts at
 * 64 KiB (or, for a regular file, its size plus the NUL plus one byte that
 * finds the end) and doubles, so n bytes cost O(n) copies; one spare byte
 * always holds the NUL.
 * No state; any thread.
 */
#include "ccpulse/file.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "ccpulse/common.h"

static char *read_rest(FILE *f, const void *head, size_t n, size_t cap, size_t *len) {
  if (cap < n + 1)
    cap = n + 1;
  char *data = ccp_malloc(cap);
  if (n)
    memcpy(data, head, n);
  size_t used = n;
  for (;;) {
    if (used + 1 == cap)
      data = ccp_realloc(data, cap *= 2);
    size_t k = fread(data + used, 1, cap - used - 1, f);
    used += k;
    if (k == 0)
      break;
  }
  if (ferror(f)) {
    int saved = errno ? errno : EIO;
    ccp_free(data);
    errno = saved;
    return NULL;
  }
  data[used] = '\0';
  if (len)
    *len = used;
  return data;
}

char *ccp_file_read_stream(FILE *f, const void *head, size_t n, size_t *len) {
  return read_rest(f, head, n, (size_t)1 << 16, len);
}

char *ccp_file_read(const char *path, size_t *len, char *errbuf, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(errbuf, errlen, "cannot open '%s': %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  size_t cap = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size + 2 : 4096;
  errno = 0;
  char *data = read_rest(f, NULL, 0, cap, len);
  if (!data)
    snprintf(errbuf, errlen, "cannot read '%s': %s", path, strerror(errno));
  fclose(f);
  return data;
}
