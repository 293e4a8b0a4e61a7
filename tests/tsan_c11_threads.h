/*
 * Include in exactly one file of a test executable that runs librdkafka
 * under ThreadSanitizer (test_consumer_mock.c, test_stress_consumer.c,
 * test_consumer_log.c).
 *
 * ThreadSanitizer (gcc 12) does not intercept C11 thrd_create, which
 * librdkafka starts its threads with: those threads then crash inside TSan's
 * allocator. The definitions below, in the executable, take precedence over
 * glibc's for librdkafka.so and route C11 threads, mutexes and condition
 * variables through the pthread calls, which TSan does intercept (glibc's
 * thrd_t is a pthread_t; its mtx_t and cnd_t have the layout of
 * pthread_mutex_t and pthread_cond_t). Without TSan this header is empty.
 */
#ifndef CCP_TSAN_C11_THREADS_H
#define CCP_TSAN_C11_THREADS_H

#if defined(__SANITIZE_THREAD__)
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>
typedef struct tramp {
  thrd_start_t fn;
  void *arg;
} tramp_t;
static void *tramp_main(void *p) {
  tramp_t t = *(tramp_t *)p;
  free(p);
  return (void *)(intptr_t)t.fn(t.arg);
}
int thrd_create(thrd_t *thr, thrd_start_t fn, void *arg) {
  tramp_t *t = malloc(sizeof *t);
  t->fn = fn;
  t->arg = arg;
  if (pthread_create((pthread_t *)thr, NULL, tramp_main, t) != 0) {
    free(t);
    return thrd_error;
  }
  return thrd_success;
}
int thrd_detach(thrd_t t) { return pthread_detach((pthread_t)t) ? thrd_error : thrd_success; }
int thrd_join(thrd_t t, int *res) {
  void *r;
  if (pthread_join((pthread_t)t, &r))
    return thrd_error;
  if (res)
    *res = (int)(intptr_t)r;
  return thrd_success;
}
/* The same for C11 mutexes and condition variables: glibc's mtx_t and cnd_t
 * have the layout of pthread_mutex_t and pthread_cond_t, and routing them
 * through the pthread calls lets TSan see librdkafka's locking (its queue
 * hand-over of messages to our workers). */
int mtx_init(mtx_t *m, int type) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  if (type & mtx_recursive)
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  int rc = pthread_mutex_init((pthread_mutex_t *)m, &a);
  pthread_mutexattr_destroy(&a);
  return rc ? thrd_error : thrd_success;
}
int mtx_lock(mtx_t *m) {
  return pthread_mutex_lock((pthread_mutex_t *)m) ? thrd_error : thrd_success;
}
int mtx_trylock(mtx_t *m) {
  int rc = pthread_mutex_trylock((pthread_mutex_t *)m);
  return rc == 0 ? thrd_success : rc == EBUSY ? thrd_busy : thrd_error;
}
int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict ts) {
  int rc = pthread_mutex_timedlock((pthread_mutex_t *)m, ts);
  return rc == 0 ? thrd_success : rc == ETIMEDOUT ? thrd_timedout : thrd_error;
}
int mtx_unlock(mtx_t *m) {
  return pthread_mutex_unlock((pthread_mutex_t *)m) ? thrd_error : thrd_success;
}
void mtx_destroy(mtx_t *m) { pthread_mutex_destroy((pthread_mutex_t *)m); }
int cnd_init(cnd_t *c) {
  return pthread_cond_init((pthread_cond_t *)c, NULL) ? thrd_error : thrd_success;
}
int cnd_signal(cnd_t *c) {
  return pthread_cond_signal((pthread_cond_t *)c) ? thrd_error : thrd_success;
}
int cnd_broadcast(cnd_t *c) {
  return pthread_cond_broadcast((pthread_cond_t *)c) ? thrd_error : thrd_success;
}
int cnd_wait(cnd_t *c, mtx_t *m) {
  return pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m) ? thrd_error : thrd_success;
}
int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts) {
  int rc = pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, ts);
  return rc == 0 ? thrd_success : rc == ETIMEDOUT ? thrd_timedout : thrd_error;
}
void cnd_destroy(cnd_t *c) { pthread_cond_destroy((pthread_cond_t *)c); }
#endif

#endif
