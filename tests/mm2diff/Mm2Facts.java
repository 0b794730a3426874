/*
 * Mm2Facts: what MirrorMaker 2 itself makes of mm2.properties files, as JSON.
 *
 * Usage: java -cp <kafka jars>:<classes> org.apache.kafka.connect.mirror.Mm2Facts FILE...
 * Prints ONE JSON object keyed by file name (not path). Each value is either
 * {"error": "..."} (MM2 cannot even build its MirrorMakerConfig) or the facts below.
 *
 * The class sits in MM2's own package so that it can call the package-private accessors the
 * connectors use (offsetSyncsTopic(), topicFilter(), sourceConsumerConfig(), ...): every fact is
 * computed by MM2 4.2.0's classes, never re-derived here. The file is loaded the way
 * MirrorMaker.main loads it (Utils.loadProps + Utils.propsToStringMap), and each connector config
 * is built the way MirrorHerder builds it (MirrorMakerConfig.connectorBaseConfig).
 *
 * Secrets are never printed: sasl.jaas.config user names and passwords appear only as
 * sha256 prefixes (see h()).
 */
package org.apache.kafka.connect.mirror;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.security.JaasContext;
import org.apache.kafka.common.utils.Utils;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import javax.security.auth.login.AppConfigurationEntry;

public final class Mm2Facts {

    /** Topic names whose filter decision is reported for every pair (plus per-pair internal names). */
    static final List<String> SAMPLE_TOPICS = List.of(
        "orders", "orders.eu", "orders_eu", "orders-internal", "payments", "billing", "_schemas",
        "__consumer_offsets", "__transaction_state", "connect-offsets", "connect-configs",
        "mm2-offset-syncs.b.internal", "mm2-configs.a.internal", "a.checkpoints.internal",
        "x.internal", "foo.replica", "heartbeats", "a.heartbeats", "audit.log");

    /** Group ids whose filter decision is reported for every pair. */
    static final List<String> SAMPLE_GROUPS = List.of(
        "orders-app", "billing-app", "billing", "console-consumer-1", "console-consumer-12345",
        "connect-sink-s3", "connect-cluster", "__amazon_msk_canary", "mm2-x", "test", "_confluent-ksql",
        "payments.v2");

    static final String SAMPLE_TOPIC = "orders";
    static final String PLUGIN_DISCOVERY = "plugin.discovery";

    private Mm2Facts() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, Object> out = new TreeMap<>();
        for (String path : args) {
            Object facts;
            try {
                facts = factsFor(path);
            } catch (Throwable t) {
                facts = error(t);
            }
            out.put(new File(path).getName(), facts);
        }
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);
        System.out.println(mapper.writeValueAsString(out));
        System.out.flush();
    }

    static Map<String, Object> error(Throwable t) {
        Map<String, Object> m = new TreeMap<>();
        m.put("error", t.getClass().getSimpleName() + ": " + t.getMessage());
        return m;
    }

    static Map<String, Object> factsFor(String path) throws Exception {
        // Exactly as MirrorMaker.main: java.util.Properties.load(InputStream) (ISO-8859-1).
        Map<String, String> props = Utils.propsToStringMap(Utils.loadProps(path));
        // MirrorMakerConfig builds a Connect Plugins object, whose default discovery mode scans
        // the whole classpath reflectively (~10 s per file). No fact below depends on plugin
        // discovery (no ConfigDef used here defines the key), so ask for ServiceLoader discovery
        // unless the file chose a mode itself.
        Map<String, String> loadable = new HashMap<>(props);
        loadable.putIfAbsent(PLUGIN_DISCOVERY, "service_load");
        MirrorMakerConfig mm = new MirrorMakerConfig(loadable);

        Map<String, Object> facts = new TreeMap<>();
        facts.put("error", null);
        List<String> clusters = new ArrayList<>(new TreeSet<>(mm.clusters()));
        facts.put("clusters", clusters);

        Set<String> herders = new TreeSet<>();
        for (SourceAndTarget st : mm.clusterPairs()) {
            herders.add(st.source() + "->" + st.target());
        }

        Map<String, Object> clusterFacts = new TreeMap<>();
        for (String alias : clusters) {
            Map<String, Object> c = new TreeMap<>();
            try {
                MirrorClientConfig client = mm.clientConfig(alias);
                c.put("consumer", normaliseClient(client.consumerConfig()));
                c.put("admin", normaliseClient(client.adminConfig()));
                c.put("error", null);
                // MM2's own Java clients take every Java setting in the file; drkit's librdkafka
                // clients may not (a JKS store, an IAM login module): drkit_facts reports that.
                c.put("client_usable", true);
            } catch (Throwable t) {
                c.putAll(error(t));
            }
            clusterFacts.put(alias, c);
        }
        facts.put("cluster", clusterFacts);

        Map<String, Object> pairs = new TreeMap<>();
        for (String source : clusters) {
            for (String target : clusters) {
                if (!source.equals(target)) {
                    SourceAndTarget st = new SourceAndTarget(source, target);
                    Map<String, Object> p;
                    try {
                        p = pairFacts(mm, st, herders.contains(st.toString()));
                    } catch (Throwable t) {
                        p = error(t);
                        p.put("herder", herders.contains(st.toString()));
                        p.put("enabled", false);
                    }
                    pairs.put(st.toString(), p);
                }
            }
        }
        facts.put("pair", pairs);
        return facts;
    }

    static Map<String, Object> pairFacts(MirrorMakerConfig mm, SourceAndTarget st, boolean herder) {
        Map<String, String> sourceProps = mm.connectorBaseConfig(st, MirrorSourceConnector.class);
        Map<String, String> checkpointProps = mm.connectorBaseConfig(st, MirrorCheckpointConnector.class);
        Map<String, String> heartbeatProps = mm.connectorBaseConfig(st, MirrorHeartbeatConnector.class);
        MirrorSourceConfig source = new MirrorSourceConfig(sourceProps);
        MirrorCheckpointConfig checkpoint = new MirrorCheckpointConfig(checkpointProps);
        MirrorHeartbeatConfig heartbeat = new MirrorHeartbeatConfig(heartbeatProps);

        Map<String, Object> p = new TreeMap<>();
        p.put("error", null);
        p.put("herder", herder);
        // MM2 replicates a pair iff it has a herder and its MirrorSourceConnector is enabled.
        p.put("enabled", herder && source.enabled());
        // The checkpoint connector also needs MirrorCheckpointConnector.validate() to pass.
        p.put("checkpoint_connector_runs", herder && checkpoint.enabled()
            && MirrorCheckpointConfig.validate(checkpointProps).isEmpty());

        ReplicationPolicy policy = source.replicationPolicy();
        p.put("policy_class", policy.getClass().getName());
        // Read the separator back from the policy itself (it reads the raw, untrimmed string).
        String hb = policy.heartbeatsTopic();
        String remoteHb = policy.formatRemoteTopic(st.source(), hb);
        p.put("separator", remoteHb.startsWith(st.source()) && remoteHb.endsWith(hb)
            ? remoteHb.substring(st.source().length(), remoteHb.length() - hb.length()) : null);
        p.put("source_alias", source.sourceClusterAlias());

        p.put("checkpoints_topic", checkpoint.checkpointsTopic());
        p.put("checkpoints_cluster", st.target());
        p.put("offset_syncs_topic", checkpoint.offsetSyncsTopic());
        p.put("offset_syncs_topic_per_source_connector", source.offsetSyncsTopic());
        p.put("offset_syncs_location", checkpoint.offsetSyncsTopicLocation());
        p.put("offset_syncs_cluster",
            "source".equals(checkpoint.offsetSyncsTopicLocation()) ? st.source() : st.target());
        p.put("heartbeats_topic", heartbeat.heartbeatsTopic());
        // The source's heartbeats arrive on the target under the name MirrorSourceTask gives
        // them: formatted with the connector's source.cluster.alias (as every remote topic).
        p.put("remote_heartbeats_topic", policy.formatRemoteTopic(source.sourceClusterAlias(), hb));

        String remote = policy.formatRemoteTopic(source.sourceClusterAlias(), SAMPLE_TOPIC);
        p.put("remote_topic", remote);
        p.put("upstream_topic", policy.upstreamTopic(remote));
        p.put("topic_source", policy.topicSource(remote));

        TopicFilter topicFilter = source.topicFilter();
        Map<String, Object> topicDecisions = new TreeMap<>();
        for (String t : SAMPLE_TOPICS) {
            topicDecisions.put(t, topicFilter.shouldReplicateTopic(t));
        }
        // This pair's own names, keyed by role (the names themselves are compared above).
        topicDecisions.put("@remote_topic", topicFilter.shouldReplicateTopic(remote));
        topicDecisions.put("@checkpoints_topic", topicFilter.shouldReplicateTopic(checkpoint.checkpointsTopic()));
        topicDecisions.put("@offset_syncs_topic", topicFilter.shouldReplicateTopic(checkpoint.offsetSyncsTopic()));
        topicDecisions.put("@remote_heartbeats_topic", topicFilter.shouldReplicateTopic(remoteHb));
        p.put("topic_filter", topicDecisions);
        GroupFilter groupFilter = checkpoint.groupFilter();
        Map<String, Object> groupDecisions = new TreeMap<>();
        for (String g : SAMPLE_GROUPS) {
            groupDecisions.put(g, groupFilter.shouldReplicateGroup(g));
        }
        p.put("group_filter", groupDecisions);

        p.put("emit_checkpoints_enabled", checkpoint.getBoolean(MirrorCheckpointConfig.EMIT_CHECKPOINTS_ENABLED));
        p.put("emit_checkpoints_interval_s", checkpoint.getLong(MirrorCheckpointConfig.EMIT_CHECKPOINTS_INTERVAL_SECONDS));
        p.put("emit_offset_syncs_enabled", source.emitOffsetSyncsEnabled());
        p.put("emit_heartbeats_enabled", heartbeat.getBoolean(MirrorHeartbeatConfig.EMIT_HEARTBEATS_ENABLED));
        p.put("sync_group_offsets_enabled", checkpoint.getBoolean(MirrorCheckpointConfig.SYNC_GROUP_OFFSETS_ENABLED));
        p.put("sync_group_offsets_interval_s", checkpoint.getLong(MirrorCheckpointConfig.SYNC_GROUP_OFFSETS_INTERVAL_SECONDS));
        p.put("heartbeats_replication_enabled", source.heartbeatsReplicationEnabled());

        // The clients the connectors actually build for this pair.
        p.put("source_consumer", normaliseClient(source.sourceConsumerConfig("facts")));
        p.put("target_admin", normaliseClient(checkpoint.targetAdminConfig("facts")));
        return p;
    }

    /** Java client settings reduced to the facts drkit derives (secrets hashed). */
    static Map<String, Object> normaliseClient(Map<String, Object> cfg) {
        Map<String, Object> n = new TreeMap<>();
        // A parsed LIST (MirrorClientConfig) or the raw string (connector originals), which the
        // Java client splits on commas and trims (ConfigDef.Type.LIST): normalise both that way.
        Object bootstrap = cfg.get("bootstrap.servers");
        Collection<?> items = bootstrap instanceof Collection<?> list ? list
            : bootstrap == null ? null : List.of(bootstrap.toString().split(","));
        String servers = null;
        if (items != null) {
            List<String> parts = new ArrayList<>();
            for (Object o : items) {
                if (!o.toString().trim().isEmpty()) {
                    parts.add(o.toString().trim());
                }
            }
            servers = String.join(",", parts);
        }
        n.put("bootstrap.servers", servers);
        String protocol = str(cfg.getOrDefault("security.protocol", "PLAINTEXT")).trim().toUpperCase();
        n.put("security.protocol", protocol);
        boolean sasl = protocol.startsWith("SASL");
        n.put("sasl.mechanism", sasl ? str(cfg.getOrDefault("sasl.mechanism", "GSSAPI")).trim().toUpperCase() : null);
        n.put("sasl.username", null);
        n.put("sasl.password", null);
        n.put("sasl.login.module", null);
        Object jaas = cfg.get(SaslConfigs.SASL_JAAS_CONFIG);
        if (sasl && jaas != null) {
            try {
                Map<String, Object> jaasOnly = new HashMap<>();
                jaasOnly.put(SaslConfigs.SASL_JAAS_CONFIG,
                    jaas instanceof Password pw ? pw : new Password(jaas.toString()));
                jaasOnly.put(SaslConfigs.SASL_MECHANISM, cfg.getOrDefault("sasl.mechanism", "GSSAPI"));
                List<AppConfigurationEntry> entries = JaasContext.loadClientContext(jaasOnly).configurationEntries();
                AppConfigurationEntry entry = entries.get(0);
                n.put("sasl.login.module", entry.getLoginModuleName());
                Object user = entry.getOptions().get("username");
                Object pass = entry.getOptions().get("password");
                n.put("sasl.username", user == null ? null : h(user.toString()));
                n.put("sasl.password", pass == null ? null : h(pass.toString()));
            } catch (Throwable t) {
                n.put("sasl.login.module", "<invalid: " + t.getClass().getSimpleName() + ">");
            }
        }
        n.put("ssl.truststore", store(cfg, "ssl.truststore"));
        n.put("ssl.keystore", store(cfg, "ssl.keystore"));
        Object alg = cfg.get("ssl.endpoint.identification.algorithm");
        // Absent: the Java client's default (https); set but blank: no host name check.
        String algorithm = alg == null ? "https" : alg.toString().trim().toLowerCase();
        n.put("ssl.endpoint.identification.algorithm", algorithm.isEmpty() ? "none" : algorithm);
        return n;
    }

    static String store(Map<String, Object> cfg, String prefix) {
        Object location = cfg.get(prefix + ".location");
        if (location == null || location.toString().isBlank()) {
            return null;
        }
        Object type = cfg.getOrDefault(prefix + ".type", "JKS");
        return str(type).trim().toUpperCase() + ":" + location.toString().trim();
    }

    static String str(Object o) {
        return o instanceof Password pw ? pw.value() : String.valueOf(o);
    }

    /** sha256 prefix of a secret: equal values compare equal, nothing readable is printed. */
    static String h(String secret) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
            return "sha256:" + HexFormat.of().formatHex(d).substring(0, 12);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
