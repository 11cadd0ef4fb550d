package rill.bench.kstreams;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The JSON values of the workloads, field for field as cmd/rill-bench's data.go writes them. */
final class Records {
    private Records() {}

    /** jsonpipeline's input. */
    record Order(
            @JsonProperty("id") long id,
            @JsonProperty("customer") String customer,
            @JsonProperty("amount") long amount, // cents
            @JsonProperty("currency") String currency,
            @JsonProperty("note") String note) {}

    /** jsonpipeline's output. */
    record Charge(
            @JsonProperty("id") long id,
            @JsonProperty("customer") String customer,
            @JsonProperty("gross") long gross,
            @JsonProperty("currency") String currency) {}

    /** yahoo's input: an ad event. */
    record YahooEvent(
            @JsonProperty("user_id") String userId,
            @JsonProperty("page_id") String pageId,
            @JsonProperty("ad_id") String adId,
            @JsonProperty("ad_type") String adType,
            @JsonProperty("event_type") String eventType,
            @JsonProperty("event_time") long eventTime,
            @JsonProperty("ip_address") String ipAddress) {}
}
