package io.kafkadrill.backup;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;

/**
 * Backs up Kafka topics to local files: one JSON line per record, written in segments of
 * {@code <store.dir>/<topic>/<partition>/<firstOffset>-<lastOffset>.jsonl} on every offset
 * flush (so a segment on disk is exactly what the committed consumer offsets cover).
 */
public class BackupSinkConnector extends SinkConnector {
    public static final String STORE_DIR = "store.dir";
    public static final String VERSION = "1.0";

    static final ConfigDef CONFIG_DEF = new ConfigDef()
        .define(STORE_DIR, ConfigDef.Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
                new ConfigDef.NonEmptyString(), ConfigDef.Importance.HIGH,
                "Directory the backup segments are written under (one folder per topic and partition).");

    private Map<String, String> props = Map.of();

    @Override
    public String version() {
        return VERSION;
    }

    @Override
    public void start(Map<String, String> props) {
        new AbstractConfig(CONFIG_DEF, props); // fails the connector early on a missing store.dir
        this.props = new HashMap<>(props);
    }

    @Override
    public Class<? extends Task> taskClass() {
        return BackupSinkTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        // Every task writes under the same store.dir; partitions never overlap between tasks.
        List<Map<String, String>> configs = new ArrayList<>(maxTasks);
        for (int i = 0; i < maxTasks; i++) {
            configs.add(new HashMap<>(props));
        }
        return configs;
    }

    @Override
    public void stop() {
    }

    @Override
    public ConfigDef config() {
        return CONFIG_DEF;
    }
}
