#!/usr/bin/env node
// A ccpulse client in Node.js (ioredis): reads the KPI tiles, follows the
// snapshot stream, and consumes the alerts with a consumer group, handling
// each alert id once. Keys and values: docs/redis.md; alerts: docs/alerts.md.
// The same program as docs/clients/python/ccpulse_client.py.
//
//   npm install ioredis
//   node client.js [--redis URL] [--prefix P] tiles [--scope all]
//   node client.js ... snapshots [--count N] [--block-ms MS]
//   node client.js ... alerts [--group G] [--consumer C] [--idle-ms MS]
'use strict';

const Redis = require('ioredis');

// Stream replies come as [id, [field, value, ...]]: the value of one field.
function field(fields, name) {
  for (let i = 0; fields && i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return null;
}

// ---------------------------------------------------------------- tiles

// The tiles of one scope, all of one publish cycle. The window names come
// from the scope document; the tiles are read in one MGET, which never
// mixes two cycles. A missing tile means no data (counts 0, other KPIs null).
async function readTiles(r, prefix, scope) {
  const meta = await r.hgetall(prefix + 'v1:meta');
  const doc = await r.get(prefix + 'v1:scope:' + scope);
  const names = doc ? Object.keys(JSON.parse(doc).windows) : [];
  const keys = names.map((w) => `${prefix}v1:kpi:${scope}:${w}`).concat([prefix + 'v1:gauges:' + scope]);
  const values = await r.mget(...keys);
  const windows = {};
  names.forEach((w, i) => { windows[w] = values[i] ? JSON.parse(values[i]) : {}; });
  const last = values[values.length - 1];
  return { meta, windows, gauges: last ? JSON.parse(last) : null };
}

async function cmdTiles(r, a) {
  const { meta, windows, gauges } = await readTiles(r, a.prefix, a.scope);
  if (!meta || !meta.now_ms) {
    console.log(`no data yet: ${a.prefix}v1:meta is missing (is ccpulse running?)`);
    return 1;
  }
  const age = (Date.now() - Number(meta.published_ms)) / 1000;
  console.log(`meta now_ms=${meta.now_ms} events=${meta.events} cycle=${meta.cycle} published ${age.toFixed(1)}s ago`);
  const scopes = await r.zrange(a.prefix + 'v1:scope_set', 0, -1); // all first, then bytewise
  console.log(`scopes ${scopes.length}: ${scopes.slice(0, 6).join(' ')}${scopes.length > 6 ? ' ...' : ''}`);
  for (const [w, kpis] of Object.entries(windows)) {
    console.log(`tile ${a.scope} ${w} ${JSON.stringify(kpis)}`);
    console.log(`  opened=${kpis.opened || 0} service_level_pct=${kpis.service_level_pct ?? null}`);
  }
  console.log(`gauges ${a.scope} ${JSON.stringify(gauges)}`);
  return 0;
}

// ---------------------------------------------------------------- snapshots

// Yields [entry id, document] for each new entry of the snapshot stream,
// starting after the latest one; XREAD blocks up to blockMs for the next.
async function* followSnapshots(r, prefix, blockMs) {
  const stream = prefix + 'snapshots';
  const last = await r.xrevrange(stream, '+', '-', 'COUNT', 1);
  let lastId = last.length ? last[0][0] : '0-0';
  for (;;) {
    const resp = await r.xread('COUNT', 10, 'BLOCK', blockMs, 'STREAMS', stream, lastId);
    if (!resp) return; // nothing within blockMs: the processor is stopped or cut off
    for (const [id, fields] of resp[0][1]) {
      lastId = id;
      yield [id, JSON.parse(field(fields, 'json'))];
    }
  }
}

async function cmdSnapshots(r, a) {
  let n = 0;
  for await (const [id, doc] of followSnapshots(r, a.prefix, a.blockMs)) {
    console.log(`snapshot ${id} now_ms=${doc.now_ms} events=${doc.diagnostics.events} scopes=${Object.keys(doc.scopes).length}`);
    if (++n === a.count) break;
  }
  console.log(`snapshots followed=${n}`);
  return n === a.count ? 0 : 1;
}

// ---------------------------------------------------------------- alerts

// Reads the alerts stream in consumer group `group` and calls handle(alert)
// once per alert id; resolves to {handled, duplicates} when no alert came
// for idleMs (0: never). Our own pending entries (delivered before a crash,
// never acknowledged) come first. The ids handled go into a sorted set
// (score: when), checked before handling; marking and XACK are one
// transaction after handle() returns: at least once, never lost, never
// twice otherwise (why ids can come twice: docs/clients.md).
async function consumeAlerts(r, prefix, group, consumer, handle, idleMs, seenKey, keepS = 7 * 86400) {
  const stream = prefix + 'alerts';
  try {
    await r.xgroup('CREATE', stream, group, '0', 'MKSTREAM'); // '$': only alerts from now on
  } catch (e) {
    if (!String(e.message).includes('BUSYGROUP')) throw e;
  }
  let handled = 0, duplicates = 0, cursor = '0';
  for (;;) {
    const resp = cursor === '>'
      ? await r.xreadgroup('GROUP', group, consumer, 'COUNT', 100, 'BLOCK', idleMs, 'STREAMS', stream, '>')
      : await r.xreadgroup('GROUP', group, consumer, 'COUNT', 100, 'STREAMS', stream, cursor);
    const entries = resp ? resp[0][1] : [];
    if (!entries.length) {
      if (cursor !== '>') { cursor = '>'; continue; }
      return { handled, duplicates };
    }
    for (const [id, fields] of entries) {
      if (cursor !== '>') cursor = id;
      const json = field(fields, 'json');
      if (json === null) { await r.xack(stream, group, id); continue; } // trimmed while pending
      const alert = JSON.parse(json);
      const aid = typeof alert.id === 'string' ? alert.id : null;
      if (aid !== null && (await r.zscore(seenKey, aid)) !== null) {
        duplicates++;
      } else {
        await handle(alert);
        handled++;
      }
      const tx = r.multi();
      if (aid !== null) tx.zadd(seenKey, Date.now() / 1000, aid);
      tx.xack(stream, group, id);
      await tx.exec();
    }
    await r.zremrangebyscore(seenKey, '-inf', Date.now() / 1000 - keepS);
  }
}

async function cmdAlerts(r, a) {
  const handle = async (alert) => { // page someone, open an incident, ...
    const what = alert.type === 'sla_at_risk' || alert.type === 'sla_breach'
      ? `ticket ${alert.ticket_id} (${alert.queue}, ${alert.channel})`
      : `${alert.rule} ${alert.scope} ${alert.kpi} = ${alert.value}`;
    console.log(`alert ${alert.id} ${alert.type} ${what}`);
  };
  const seen = a.seenKey || `ccpulse-client:${a.group}:seen`;
  const { handled, duplicates } = await consumeAlerts(r, a.prefix, a.group, a.consumer, handle, a.idleMs, seen);
  console.log(`alerts handled=${handled} duplicates=${duplicates}`);
  return 0;
}

function parseArgs(argv) {
  const a = { redis: 'redis://127.0.0.1:6379', prefix: 'ccpulse:', scope: 'all', count: 3, blockMs: 5000,
    group: 'ccpulse-client', consumer: 'c1', idleMs: 2000, seenKey: null, cmd: null };
  const names = { '--redis': 'redis', '--prefix': 'prefix', '--scope': 'scope', '--count': 'count',
    '--block-ms': 'blockMs', '--group': 'group', '--consumer': 'consumer', '--idle-ms': 'idleMs',
    '--seen-key': 'seenKey' };
  for (let i = 0; i < argv.length; i++) {
    if (names[argv[i]] && i + 1 < argv.length) {
      const k = names[argv[i]];
      a[k] = typeof a[k] === 'number' ? Number(argv[++i]) : argv[++i];
    } else if (!a.cmd && ['tiles', 'snapshots', 'alerts'].includes(argv[i])) {
      a.cmd = argv[i];
    } else {
      throw new Error(`unknown argument '${argv[i]}' (tiles | snapshots | alerts, see the header)`);
    }
  }
  if (!a.cmd) throw new Error('give a command: tiles, snapshots or alerts');
  return a;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const r = new Redis(a.redis);
  try {
    return await { tiles: cmdTiles, snapshots: cmdSnapshots, alerts: cmdAlerts }[a.cmd](r, a);
  } finally {
    r.disconnect();
  }
}

main().then((rc) => { process.exitCode = rc; }, (e) => { console.error(e.message); process.exitCode = 1; });
