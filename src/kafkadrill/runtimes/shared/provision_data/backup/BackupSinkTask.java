package io.kafkadrill.backup;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;

/**
 * Buffers records in memory per partition and writes each buffer as one segment file on flush.
 * Connect commits the consumer offsets only after flush returns, so what is on disk is what is
 * backed up, and what is still buffered when the task dies is lost (and redelivered on restart).
 */
public class BackupSinkTask extends SinkTask {
    private static final Base64.Encoder B64 = Base64.getEncoder();

    /** The not yet written lines of one partition, in offset order. */
    private static final class Buffer {
        final List<Long> offsets = new ArrayList<>();
        final List<String> lines = new ArrayList<>();

        void add(long offset, String line) {
            // After a failed commit Connect rewinds the consumer to the last committed offset and
            // redelivers: drop what we hold from that offset on, or the segment gets duplicates.
            int n = offsets.size();
            while (n > 0 && offsets.get(n - 1) >= offset) {
                n--;
            }
            if (n < offsets.size()) {
                offsets.subList(n, offsets.size()).clear();
                lines.subList(n, lines.size()).clear();
            }
            offsets.add(offset);
            lines.add(line);
        }

        boolean isEmpty() {
            return offsets.isEmpty();
        }

        void clear() {
            offsets.clear();
            lines.clear();
        }
    }

    private Path storeDir;
    private final Map<TopicPartition, Buffer> buffers = new HashMap<>();

    @Override
    public String version() {
        return BackupSinkConnector.VERSION;
    }

    @Override
    public void start(Map<String, String> props) {
        String dir = props.get(BackupSinkConnector.STORE_DIR);
        if (dir == null || dir.isEmpty()) {
            throw new ConnectException(BackupSinkConnector.STORE_DIR + " is required");
        }
        storeDir = Paths.get(dir);
    }

    @Override
    public void put(Collection<SinkRecord> records) {
        for (SinkRecord r : records) {
            TopicPartition tp = new TopicPartition(r.topic(), r.kafkaPartition());
            buffers.computeIfAbsent(tp, k -> new Buffer()).add(r.kafkaOffset(), toJson(r));
        }
    }

    @Override
    public void flush(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
        for (Map.Entry<TopicPartition, Buffer> e : buffers.entrySet()) {
            Buffer buf = e.getValue();
            if (buf.isEmpty()) {
                continue;
            }
            try {
                writeSegment(e.getKey(), buf);
            } catch (IOException ex) {
                throw new RetriableException("backup of " + e.getKey() + " failed: " + ex, ex);
            }
            buf.clear();
        }
    }

    @Override
    public void open(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            buffers.computeIfAbsent(tp, k -> new Buffer());
        }
    }

    @Override
    public void close(Collection<TopicPartition> partitions) {
        // Whatever was not flushed is redelivered (from the committed offset) to the next owner.
        for (TopicPartition tp : partitions) {
            buffers.remove(tp);
        }
    }

    @Override
    public void stop() {
        // Unflushed records are deliberately not written: they are not backed up.
    }

    private void writeSegment(TopicPartition tp, Buffer buf) throws IOException {
        Path dir = storeDir.resolve(tp.topic()).resolve(Integer.toString(tp.partition()));
        Files.createDirectories(dir);
        long first = buf.offsets.get(0);
        long last = buf.offsets.get(buf.offsets.size() - 1);
        String name = String.format("%020d-%020d.jsonl", first, last);
        Path tmp = dir.resolve(name + ".tmp");
        StringBuilder sb = new StringBuilder();
        for (String line : buf.lines) {
            sb.append(line).append('\n');
        }
        ByteBuffer bytes = ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8));
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            while (bytes.hasRemaining()) {
                ch.write(bytes);
            }
            ch.force(true);
        }
        Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
        fsyncDir(dir);
    }

    private static void fsyncDir(Path dir) {
        // Makes the rename itself durable; not every platform lets a directory be opened.
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // best effort
        }
    }

    static String toJson(SinkRecord r) {
        StringBuilder sb = new StringBuilder(256);
        sb.append("{\"topic\":");
        quote(sb, r.topic());
        sb.append(",\"partition\":").append(r.kafkaPartition());
        sb.append(",\"offset\":").append(r.kafkaOffset());
        sb.append(",\"ts\":").append(r.timestamp() == null ? "null" : r.timestamp().toString());
        sb.append(",\"ts_type\":");
        // CreateTime, LogAppendTime or NoTimestampType
        quote(sb, r.timestampType() == null ? "NoTimestampType" : r.timestampType().name);
        sb.append(",\"key\":");
        base64(sb, r.key());
        sb.append(",\"value\":");
        base64(sb, r.value());
        sb.append(",\"headers\":[");
        boolean firstHeader = true;
        for (Header h : r.headers()) {
            if (!firstHeader) {
                sb.append(',');
            }
            firstHeader = false;
            sb.append('[');
            quote(sb, h.key());
            sb.append(',');
            base64(sb, h.value());
            sb.append(']');
        }
        sb.append("]}");
        return sb.toString();
    }

    private static void base64(StringBuilder sb, Object value) {
        byte[] bytes = toBytes(value);
        if (bytes == null) {
            sb.append("null");
        } else {
            sb.append('"').append(B64.encodeToString(bytes)).append('"');
        }
    }

    private static byte[] toBytes(Object value) {
        // With ByteArrayConverter everything is byte[]; anything else (another converter, an SMT)
        // is kept as its string form rather than failing the backup.
        if (value == null) {
            return null;
        }
        if (value instanceof byte[] b) {
            return b;
        }
        if (value instanceof ByteBuffer bb) {
            ByteBuffer dup = bb.duplicate();
            byte[] b = new byte[dup.remaining()];
            dup.get(b);
            return b;
        }
        return String.valueOf(value).getBytes(StandardCharsets.UTF_8);
    }

    static void quote(StringBuilder sb, String s) {
        if (s == null) {
            sb.append("null");
            return;
        }
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
