package ccpulse.peer;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.ByteArrayInputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.TimestampExtractor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

/**
 * Kafka Streams peer of ccpulse (bench issue 4): per queue, 5-minute tumbling
 * event-time windows of opened, FRT avg/p90, service level, CSAT and NPS.
 *
 * Topology:
 *   source (Avro binary TicketEvent, key ticket_id, ts extractor = field ts)
 *   -> "tickets" processor with a persistent KeyValueStore keyed by ticket_id
 *      (open time, SLA threshold, reply count, open/closed, recent event ids)
 *      emits per-queue contributions (opened, first reply, abandon, survey)
 *   -> repartition by queue
 *   -> groupByKey, TimeWindows 5m (grace --grace-ms, default 7d), aggregate into the
 *      window store "kpi-5m" (results stay in the store; --dump writes them).
 */
public final class KpiPeer {
  static final long MINUTE = 60_000L;
  static final long WINDOW_MS = 5 * MINUTE;
  static final long LATENESS_MS = 5 * MINUTE;
  static final long SHORT_ABANDON_MS = 5_000L;

  // Progress counters (single JVM): input records seen by the ticket
  // processor, contributions forwarded, contributions read back after the
  // repartition, contributions that reached the aggregator.
  static final AtomicLong INPUT = new AtomicLong();
  static final AtomicLong FORWARDED = new AtomicLong();
  static final AtomicLong REPARTITIONED = new AtomicLong();
  static final AtomicLong AGGREGATED = new AtomicLong();
  static final AtomicLong DROPPED_INVALID = new AtomicLong();
  static final AtomicLong DROPPED_LATE = new AtomicLong();
  static final AtomicLong DROPPED_DUP = new AtomicLong();

  // ------------------------------------------------------------ Avro serde
  static final class AvroDeserializer implements Deserializer<GenericRecord> {
    final Schema schema;
    final ThreadLocal<GenericDatumReader<GenericRecord>> reader;
    final ThreadLocal<BinaryDecoder[]> decoder = ThreadLocal.withInitial(() -> new BinaryDecoder[1]);
    static final AtomicLong UNDECODABLE = new AtomicLong();

    AvroDeserializer(Schema s) {
      schema = s;
      reader = ThreadLocal.withInitial(() -> new GenericDatumReader<>(s));
    }

    @Override
    public GenericRecord deserialize(String topic, byte[] data) {
      if (data == null) return null;
      BinaryDecoder[] d = decoder.get();
      d[0] = DecoderFactory.get().binaryDecoder(data, d[0]);
      try {
        return reader.get().read(null, d[0]); // no record reuse: records queue up before processing
      } catch (IOException | RuntimeException e) {
        UNDECODABLE.incrementAndGet();
        return null;
      }
    }
  }

  public static final class TsExtractor implements TimestampExtractor {
    public TsExtractor() {}
    @Override
    public long extract(ConsumerRecord<Object, Object> rec, long partitionTime) {
      Object v = rec.value();
      if (v instanceof GenericRecord) return (Long) ((GenericRecord) v).get("ts");
      return partitionTime >= 0 ? partitionTime : rec.timestamp(); // undecodable: counted, then dropped
    }
  }

  // ------------------------------------------------------------ ticket state
  static final int RECENT_IDS = 8;

  static final class Ticket {
    long openTs = Long.MIN_VALUE; // MIN = unknown
    long threshold;
    int replies;
    boolean open;
    long[] recent = new long[RECENT_IDS]; // 64-bit hashes of recent event ids (ring)
    int recentPos;

    boolean seen(long h) {
      for (long x : recent) if (x == h && h != 0) return true;
      return false;
    }

    void remember(long h) {
      recent[recentPos] = h;
      recentPos = (recentPos + 1) % RECENT_IDS;
    }

    byte[] toBytes() {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + 8 + 4 + 1 + 1 + 8 * RECENT_IDS);
      b.putLong(openTs).putLong(threshold).putInt(replies).put((byte) (open ? 1 : 0)).put((byte) recentPos);
      for (long x : recent) b.putLong(x);
      return b.array();
    }

    static Ticket fromBytes(byte[] a) {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(a);
      Ticket t = new Ticket();
      t.openTs = b.getLong();
      t.threshold = b.getLong();
      t.replies = b.getInt();
      t.open = b.get() != 0;
      t.recentPos = b.get();
      for (int i = 0; i < RECENT_IDS; i++) t.recent[i] = b.getLong();
      return t;
    }
  }

  static long hash64(String s) {
    long h = 0xcbf29ce484222325L; // FNV-1a
    for (int i = 0; i < s.length(); i++) {
      h ^= s.charAt(i);
      h *= 0x100000001b3L;
    }
    return h == 0 ? 1 : h;
  }

  static long threshold(String channel) {
    switch (channel) {
      case "PHONE": return 4 * MINUTE;
      case "CHAT": return 2 * MINUTE;
      case "EMAIL": return 24 * 60 * MINUTE;
      case "SOCIAL": return 60 * MINUTE;
      default: return 4 * MINUTE;
    }
  }

  // ------------------------------------------------------------ contributions
  // kind: 0 opened, 1 first reply (value = frt ms, flag = within SLA),
  // 2 long abandon (service-level denominator), 3 survey (csat, nps; -1 = absent)
  static final class Contrib {
    byte kind;
    long value;
    boolean flag;
    int csat = -1, nps = -1;
  }

  static final Serde<Contrib> CONTRIB_SERDE = Serdes.serdeFrom(
      (Serializer<Contrib>) (t, c) -> {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1 + 8 + 1 + 4 + 4);
        b.put(c.kind).putLong(c.value).put((byte) (c.flag ? 1 : 0)).putInt(c.csat).putInt(c.nps);
        return b.array();
      },
      (Deserializer<Contrib>) (t, a) -> {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(a);
        Contrib c = new Contrib();
        c.kind = b.get();
        c.value = b.getLong();
        c.flag = b.get() != 0;
        c.csat = b.getInt();
        c.nps = b.getInt();
        return c;
      });

  static final class TicketProcessor implements Processor<String, GenericRecord, String, Contrib> {
    ProcessorContext<String, Contrib> ctx;
    KeyValueStore<String, byte[]> store;

    @Override
    public void init(ProcessorContext<String, Contrib> context) {
      ctx = context;
      store = context.getStateStore("tickets");
    }

    void emit(String queue, Contrib c, long ts) {
      FORWARDED.incrementAndGet();
      ctx.forward(new Record<>(queue, c, ts));
    }

    static Integer intOrNull(GenericRecord r, String f) {
      Object o = r.get(f);
      return o == null ? null : ((Number) o).intValue();
    }

    static boolean negative(GenericRecord r, String f) {
      Object o = r.get(f);
      return o != null && ((Number) o).longValue() < 0;
    }

    @Override
    public void process(Record<String, GenericRecord> rec) {
      try {
        handle(rec);
      } finally {
        INPUT.incrementAndGet();
      }
    }

    void handle(Record<String, GenericRecord> rec) {
      GenericRecord e = rec.value();
      if (e == null) return; // undecodable
      Integer csat = intOrNull(e, "csat"), nps = intOrNull(e, "nps"), ces = intOrNull(e, "ces");
      if ((csat != null && (csat < 1 || csat > 5)) || (nps != null && (nps < 0 || nps > 10))
          || (ces != null && (ces < 1 || ces > 7)) || negative(e, "talk_ms") || negative(e, "hold_ms")
          || negative(e, "acw_ms") || negative(e, "qa_errors")) {
        DROPPED_INVALID.incrementAndGet();
        return;
      }
      long ts = (Long) e.get("ts");
      // Lateness per partition, as ccpulse live (docs/kpis.md section 2): the
      // task's stream time (max ts read by this task, kept in the committed
      // offset metadata so it survives a task moving between threads).
      if (ts < ctx.currentStreamTimeMs() - LATENESS_MS) {
        DROPPED_LATE.incrementAndGet();
        return;
      }
      String ticketId = e.get("ticket_id").toString();
      byte[] raw = store.get(ticketId);
      Ticket t = raw == null ? null : Ticket.fromBytes(raw);
      long idHash = hash64(e.get("event_id").toString());
      if (t != null && t.seen(idHash)) {
        DROPPED_DUP.incrementAndGet();
        return;
      }
      String type = e.get("type").toString();
      String queue = e.get("queue").toString();
      String channel = e.get("channel").toString();
      if (t == null) {
        t = new Ticket();
        t.open = true; // first event not OPENED: opened before the stream, open time unknown
      }
      switch (type) {
        case "OPENED": {
          Contrib c = new Contrib();
          c.kind = 0;
          emit(queue, c, ts);
          if (raw == null || !t.open) { // new ticket or new life of a closed one
            long[] keep = t.recent;
            int pos = t.recentPos;
            t = new Ticket();
            t.recent = keep;
            t.recentPos = pos;
            t.open = true;
            t.openTs = ts;
            t.threshold = threshold(channel);
          } else if (t.openTs == Long.MIN_VALUE) {
            t.openTs = ts;
            t.threshold = threshold(channel);
          }
          break;
        }
        case "AGENT_REPLY":
          if (t.replies == 0 && t.openTs != Long.MIN_VALUE) {
            Contrib c = new Contrib();
            c.kind = 1;
            c.value = Math.max(0, ts - t.openTs);
            c.flag = c.value <= t.threshold;
            emit(queue, c, ts);
          }
          t.replies++;
          break;
        case "RESOLVED":
          t.open = false;
          break;
        case "REOPENED":
          t.open = true;
          break;
        case "ABANDONED":
          if (t.open && t.replies == 0 && t.openTs != Long.MIN_VALUE && ts - t.openTs >= SHORT_ABANDON_MS) {
            Contrib c = new Contrib();
            c.kind = 2;
            emit(queue, c, ts);
          }
          t.open = false;
          break;
        case "SURVEY":
          if (csat != null || nps != null) {
            Contrib c = new Contrib();
            c.kind = 3;
            c.csat = csat == null ? -1 : csat;
            c.nps = nps == null ? -1 : nps;
            emit(queue, c, ts);
          }
          break;
        default:
          break;
      }
      t.remember(idHash);
      store.put(ticketId, t.toBytes());
    }
  }

  // ------------------------------------------------------------ window aggregate
  static final class Agg {
    long opened, frtCount, frtSum, slWithin, slLongAbandons, csatN, csatSat, npsN, npsProm, npsDet;
    long[] frt = new long[0]; // sorted sample of the window's FRT values (all of them)

    Agg add(Contrib c) {
      switch (c.kind) {
        case 0: opened++; break;
        case 1: {
          frtCount++;
          frtSum += c.value;
          if (c.flag) slWithin++;
          int i = Arrays.binarySearch(frt, c.value);
          if (i < 0) i = -i - 1;
          long[] n = new long[frt.length + 1];
          System.arraycopy(frt, 0, n, 0, i);
          n[i] = c.value;
          System.arraycopy(frt, i, n, i + 1, frt.length - i);
          frt = n;
          break;
        }
        case 2: slLongAbandons++; break;
        case 3:
          if (c.csat >= 0) { csatN++; if (c.csat >= 4) csatSat++; }
          if (c.nps >= 0) { npsN++; if (c.nps >= 9) npsProm++; else if (c.nps <= 6) npsDet++; }
          break;
        default: break;
      }
      return this;
    }

    String json(String queue, long start) {
      StringBuilder s = new StringBuilder();
      s.append("{\"queue\":\"").append(queue).append("\",\"window_start_ms\":").append(start)
          .append(",\"window_end_ms\":").append(start + WINDOW_MS)
          .append(",\"opened\":").append(opened)
          .append(",\"frt_count\":").append(frtCount)
          .append(",\"frt_avg_ms\":").append(frtCount == 0 ? "null" : fmt((double) frtSum / frtCount))
          .append(",\"frt_p90_ms\":").append(frtCount == 0 ? "null" : Long.toString(frt[(int) Math.ceil(0.9 * frtCount) - 1]))
          .append(",\"service_level_pct\":").append(frtCount + slLongAbandons == 0 ? "null" : fmt(100.0 * slWithin / (frtCount + slLongAbandons)))
          .append(",\"csat_pct\":").append(csatN == 0 ? "null" : fmt(100.0 * csatSat / csatN))
          .append(",\"nps\":").append(npsN == 0 ? "null" : fmt(100.0 * (npsProm - npsDet) / npsN))
          .append('}');
      return s.toString();
    }
  }

  static String fmt(double d) {
    return String.format(Locale.ROOT, "%.4f", d);
  }

  static final Serde<Agg> AGG_SERDE = Serdes.serdeFrom(
      (Serializer<Agg>) (t, a) -> {
        ByteArrayOutputStream bo = new ByteArrayOutputStream(96 + 8 * a.frt.length);
        try (DataOutputStream o = new DataOutputStream(bo)) {
          long[] f = {a.opened, a.frtCount, a.frtSum, a.slWithin, a.slLongAbandons, a.csatN, a.csatSat, a.npsN, a.npsProm, a.npsDet};
          for (long x : f) o.writeLong(x);
          o.writeInt(a.frt.length);
          for (long x : a.frt) o.writeLong(x);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        return bo.toByteArray();
      },
      (Deserializer<Agg>) (t, b) -> {
        Agg a = new Agg();
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
          a.opened = in.readLong(); a.frtCount = in.readLong(); a.frtSum = in.readLong();
          a.slWithin = in.readLong(); a.slLongAbandons = in.readLong(); a.csatN = in.readLong();
          a.csatSat = in.readLong(); a.npsN = in.readLong(); a.npsProm = in.readLong(); a.npsDet = in.readLong();
          a.frt = new long[in.readInt()];
          for (int i = 0; i < a.frt.length; i++) a.frt[i] = in.readLong();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        return a;
      });

  // ------------------------------------------------------------ main
  static String arg(String[] a, String name, String def) {
    for (int i = 0; i + 1 < a.length; i++) if (a[i].equals(name)) return a[i + 1];
    return def;
  }

  /** User + system CPU of this JVM in nanoseconds, or -1 where the JVM does not say. */
  static long processCpuNanos() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean) {
      return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
    }
    return -1;
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = arg(args, "--bootstrap", null);
    String topic = arg(args, "--topic", null);
    String schemaFile = arg(args, "--schema", null);
    long events = Long.parseLong(arg(args, "--events", "0"));
    String appId = arg(args, "--app-id", "ccpulse-ks-peer-" + System.currentTimeMillis());
    String stateDir = arg(args, "--state-dir", null);
    if (stateDir == null) stateDir = Files.createTempDirectory("ks-peer").toString();
    int threads = Integer.parseInt(arg(args, "--threads", Integer.toString(Runtime.getRuntime().availableProcessors())));
    long commitMs = Long.parseLong(arg(args, "--commit-ms", "1000"));
    long timeoutS = Long.parseLong(arg(args, "--timeout", "600"));
    String dump = arg(args, "--dump", null);
    // Ticket store: RocksDB (default, what holds millions of tickets) or
    // in-memory; both changelogged, so restorable after a failure.
    String storeKind = arg(args, "--store", "rocksdb");
    // Grace of the per-queue windows. The repartition topic interleaves the
    // 8 upstream tasks, whose event times drift apart by hours while a backlog
    // is read; a grace of the lateness (5m) would drop most contributions, so
    // the default keeps windows open for 7 days of stream time.
    long graceMs = Long.parseLong(arg(args, "--grace-ms", Long.toString(7L * 24 * 60 * MINUTE)));
    if (bootstrap == null || topic == null || schemaFile == null || events <= 0) {
      System.err.println("usage: KpiPeer --bootstrap B --topic T --schema F --events N [--app-id ID] [--state-dir D] [--threads N] [--commit-ms MS] [--timeout S] [--dump FILE]");
      System.exit(2);
    }
    Schema schema = new Schema.Parser().parse(new File(schemaFile));

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, commitMs);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    p.put(StreamsConfig.DEFAULT_TIMESTAMP_EXTRACTOR_CLASS_CONFIG, TsExtractor.class);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);

    StreamsBuilder b = new StreamsBuilder();
    b.addStateStore(Stores.keyValueStoreBuilder(
        "memory".equals(storeKind) ? Stores.inMemoryKeyValueStore("tickets") : Stores.persistentKeyValueStore("tickets"),
        Serdes.String(), Serdes.ByteArray()));
    KStream<String, GenericRecord> in = b.stream(topic, Consumed.with(Serdes.String(), Serdes.serdeFrom((Serializer<GenericRecord>) (t, r) -> { throw new UnsupportedOperationException("read-only"); }, new AvroDeserializer(schema))));
    in.process(TicketProcessor::new, "tickets")
        .repartition(Repartitioned.with(Serdes.String(), CONTRIB_SERDE).withName("by-queue"))
        .peek((k, v) -> REPARTITIONED.incrementAndGet())
        .groupByKey(Grouped.with(Serdes.String(), CONTRIB_SERDE))
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(WINDOW_MS), Duration.ofMillis(graceMs)))
        .aggregate(Agg::new, (q, c, a) -> {
          AGGREGATED.incrementAndGet();
          return a.add(c);
        }, Materialized.<String, Agg, WindowStore<Bytes, byte[]>>as("kpi-5m")
            .withKeySerde(Serdes.String()).withValueSerde(AGG_SERDE)
            .withRetention(Duration.ofMillis(Math.max(graceMs + WINDOW_MS, 30L * 24 * 60 * MINUTE))));

    KafkaStreams ks = new KafkaStreams(b.build(), p);
    ks.setUncaughtExceptionHandler(ex -> {
      ex.printStackTrace();
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    long t0 = System.nanoTime();
    long cpu0 = processCpuNanos();
    ks.start();
    long deadline = t0 + timeoutS * 1_000_000_000L;
    boolean done = false;
    while (System.nanoTime() < deadline) {
      // Done: every input record processed, and every contribution it sent
      // through the repartition topic read back into the aggregation.
      if (INPUT.get() >= events && REPARTITIONED.get() >= FORWARDED.get()) {
        done = true;
        break;
      }
      if (ks.state() == KafkaStreams.State.ERROR || ks.state() == KafkaStreams.State.PENDING_ERROR) break;
      Thread.sleep(5);
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    // CPU of the whole JVM (user + system, all threads, GC and JIT included)
    // over the same span as secs (JVM start-up and topology building left
    // out): the per-core figure bench/run sets beside ccpulse run's
    long cpu1 = processCpuNanos();
    double cpuSecs = cpu0 >= 0 && cpu1 >= 0 ? (cpu1 - cpu0) / 1e9 : -1;
    System.err.printf(Locale.ROOT, "ks-peer: input=%d forwarded=%d repartitioned=%d aggregated=%d (window-late %d) invalid=%d late=%d dup=%d undecodable=%d%n",
        INPUT.get(), FORWARDED.get(), REPARTITIONED.get(), AGGREGATED.get(), REPARTITIONED.get() - AGGREGATED.get(),
        DROPPED_INVALID.get(), DROPPED_LATE.get(), DROPPED_DUP.get(), AvroDeserializer.UNDECODABLE.get());
    if (done && dump != null) {
      ReadOnlyWindowStore<String, Agg> st = ks.store(StoreQueryParameters.fromNameAndType("kpi-5m", QueryableStoreTypes.windowStore()));
      List<String> lines = new ArrayList<>();
      try (KeyValueIterator<Windowed<String>, Agg> it = st.all()) {
        while (it.hasNext()) {
          KeyValue<Windowed<String>, Agg> kv = it.next();
          lines.add(kv.value.json(kv.key.key(), kv.key.window().start()));
        }
      }
      try (PrintWriter w = new PrintWriter(dump, "UTF-8")) {
        for (String l : lines) w.println(l);
      }
    }
    ks.close(Duration.ofSeconds(30));
    ks.cleanUp();
    if (!done) {
      System.err.printf(Locale.ROOT, "ks-peer: not done after %.1fs (processed %d of %d)%n", secs, INPUT.get(), events);
      System.exit(1);
    }
    System.out.printf(Locale.ROOT, "{\"peer\":\"kafka-streams\",\"events\":%d,\"seconds\":%.3f,\"events_per_s\":%.0f,\"cpu_seconds\":%.3f}%n",
        events, secs, events / secs, cpuSecs);
    System.exit(0);
  }
}
