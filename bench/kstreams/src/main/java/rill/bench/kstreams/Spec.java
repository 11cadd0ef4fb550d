package rill.bench.kstreams;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * What rill-bench asks of one run: cmd/rill-bench's childSpec, passed as JSON in the first
 * argument. Fields this child has no use for (the Go CPU profile path) are ignored.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
record Spec(
        @JsonProperty("workload") String workload,
        @JsonProperty("eos") boolean eos,
        @JsonProperty("bootstrap") List<String> bootstrap,
        // Topics are prefix + "in", "right", "campaigns", "out".
        @JsonProperty("prefix") String prefix,
        @JsonProperty("app_id") String appId,
        @JsonProperty("state_dir") String stateDir,
        // Records a workload without output processes before it is done.
        @JsonProperty("target") long target,
        // Records the input of a cached (stateful) operation holds; once that many went in,
        // the child asks Kafka Streams to commit, which flushes the cache to the output.
        @JsonProperty("commit_after") long commitAfter) {

    String topic(String role) {
        return prefix + role;
    }
}
