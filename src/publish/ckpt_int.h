/*
 * Internals shared by the Redis publisher (redis_pub.c: the connection and
 * the cycle's transaction) and the checkpoint store (ckpt_store.c: the
 * checkpoint keys, the fencing script, the reader). Every function runs on
 * the thread that owns the buffer or context it is given.
 */
#ifndef CCP_CKPT_INT_H
#define CCP_CKPT_INT_H

#include <hiredis/hiredis.h>

#include "ccpulse/buf.h"
#include "ccpulse/ckpt_store.h"

/**
 * Connects to the Redis server of url (AUTH and SELECT as the url says),
 * with the timeouts given; NULL with what filled (the problem, lower case).
 * addr receives "host:port" for messages (may be NULL).
 */
redisContext *ccp__redis_connect(const char *url, int connect_timeout_ms, int command_timeout_ms,
                                 char *addr, size_t addrlen, char *what, size_t wlen);
/** Appends one command (argc arguments of lens[i] bytes) as RESP to o. */
void ccp__resp_argv(ccp_buf_t *o, int argc, const char *const *argv, const size_t *lens);

/** Sets k to the key of the ids of a partition's deadline alerts, <prefix>v1:alert_ids:<topic>:<p>.
 */
void ccp__alert_ids_key(ccp_buf_t *k, const char *prefix, const char *topic, int32_t partition);
/** Appends SCRIPT LOAD of the fencing script (pipelined ahead of a cycle's MULTI). */
void ccp__ckpt_append_load(ccp_buf_t *o);
/** Checks the reply to ccp__ckpt_append_load(); 0, or -CCP_EINVAL with what filled. */
int ccp__ckpt_check_load(const redisReply *r, char *what, size_t wlen);
/**
 * Appends the commands writing checkpoints c[0..n) (inside MULTI): per
 * checkpoint a DEL and HSETs of its staging hash, then EVALSHA of the
 * fencing script (which also trims the partition's alert ids below the
 * checkpoint's alert_floor when it stores it). Adds the commands to *ncmds and their argument bytes
 * to *bytes. A checkpoint without an epoch (<= 0) or offset (< 0) is skipped.
 */
void ccp__ckpt_append(ccp_buf_t *o, const char *prefix, const ccp_checkpoint_t *c, int n,
                      int *ncmds, uint64_t *bytes);
/**
 * Sets c[i].stored from the EXEC reply of a cycle whose checkpoint commands
 * started at command index base; logs (unless quiet) each one refused by the
 * fence. Returns how many were refused.
 */
int ccp__ckpt_results(const redisReply *exec, int base, ccp_checkpoint_t *c, int n, int quiet);

/**
 * Appends the commands storing partials r[0..n) (inside MULTI): per partial
 * a DEL and an HSET of its staging hash, then an EVAL of the partial fence
 * (renamed over <prefix>v1:partial:<topic>:<p> only while the partition's
 * checkpoint epoch is the writer's and the stored partial's offset is not
 * larger). Adds the commands to *ncmds and their argument bytes to *bytes.
 * A partial without an epoch (<= 0) is skipped.
 */
void ccp__partials_append(ccp_buf_t *o, const char *prefix, const char *topic,
                          const ccp_partial_rec_t *r, int n, int *ncmds, uint64_t *bytes);
/** Sets r[i].stored from the EXEC reply of a cycle whose partial commands started at base. */
void ccp__partials_results(const redisReply *exec, int base, ccp_partial_rec_t *r, int n);
/** Appends the EVAL raising <prefix>v1:stream_time:<topic> to at least t (one command); its
 * reply is the stored value after it. */
void ccp__stream_time_append(ccp_buf_t *o, const char *prefix, const char *topic, int64_t t);

#endif
