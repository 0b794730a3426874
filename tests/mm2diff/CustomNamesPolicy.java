/*
 * A KIP-690 custom replication policy, for the corpus case that names a custom
 * replication.policy.class: remote names as DefaultReplicationPolicy, internal topics renamed.
 * Compiled with Mm2Facts so that MM2 can instantiate it; drkit gets the same names from the
 * [mm2.topics] overrides in the corpus file's sidecar drkit.toml.
 */
package drkit.mm2diff;

import org.apache.kafka.connect.mirror.DefaultReplicationPolicy;

public class CustomNamesPolicy extends DefaultReplicationPolicy {
    @Override
    public String heartbeatsTopic() {
        return "mm2-heartbeats";
    }

    @Override
    public String checkpointsTopic(String clusterAlias) {
        return "mm2-checkpoints." + clusterAlias;
    }

    @Override
    public String offsetSyncsTopic(String clusterAlias) {
        return "mm2-offset-syncs." + clusterAlias;
    }
}
