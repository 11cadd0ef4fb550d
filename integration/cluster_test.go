package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaVersion is the Apache Kafka release the image is built from (integration/kafka-image);
// the Makefile passes the same pin to build.sh.
const kafkaVersion = "4.1.1"

// kafkaImage is the locally built image (make kafka-image); it is never pulled.
var kafkaImage = "rill-kafka:" + kafkaVersion

// cluster is a real Apache Kafka cluster in containers: one KRaft node (controller and broker
// combined) per container, on a Docker network of its own when there are several.
type cluster struct {
	t       testing.TB
	names   []string // container names (also the nodes' host names)
	nodes   []testcontainers.Container
	ports   []int
	network *testcontainers.DockerNetwork
	// saslPort is the SASL listener's port (clusterOpts.sasl), 0 without one.
	saslPort int
}

// clusterOpts configures startCluster.
type clusterOpts struct {
	// nodes is the number of brokers (default 1); internal topics and the brokers' default
	// replication factor follow it, up to 3.
	nodes int
	// extraConfig is appended to every node's server.properties.
	extraConfig []string
	// sasl adds a SASL_PLAINTEXT listener (PLAIN and SCRAM-SHA-512) on a port of its own,
	// bound and advertised like the client listener (single node only); the cluster's
	// saslPort is its port. PLAIN knows saslPlainUsers; SCRAM users are made through the
	// admin API (sasl_test.go).
	sasl bool
}

// saslPlainUsers are the PLAIN credentials of the SASL listener, user to password.
var saslPlainUsers = map[string]string{"rill": "rill-plain-secret"}

// saslConfig is the server.properties of a node with a SASL_PLAINTEXT listener beside its
// listeners (entrypoint.sh; the last value of a key wins). A single node advertises its
// inter-broker listener on localhost: it only talks to itself.
func saslConfig(port, saslPort int) []string {
	var users []string
	for u, p := range saslPlainUsers {
		users = append(users, fmt.Sprintf("user_%s=%q", u, p))
	}
	return []string{
		fmt.Sprintf("listeners=PLAINTEXT://0.0.0.0:%d,BROKER://0.0.0.0:9093,CONTROLLER://0.0.0.0:9094,SASL_PLAINTEXT://0.0.0.0:%d", port, saslPort),
		fmt.Sprintf("advertised.listeners=PLAINTEXT://localhost:%d,BROKER://localhost:9093,SASL_PLAINTEXT://localhost:%d", port, saslPort),
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
		"sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required " +
			strings.Join(users, " ") + ";",
		"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
	}
}

// startCluster starts a cluster and terminates it when the test ends. Each node's client
// listener is bound to the same port on the host and advertised as localhost:<port>, so the
// address survives a container restart (a mapped random port would change).
func startCluster(t testing.TB, ctx context.Context, o clusterOpts) *cluster {
	t.Helper()
	if o.nodes == 0 {
		o.nodes = 1
	}
	rf := min(o.nodes, 3)
	c := &cluster{t: t}
	var voters []string
	names := make([]string, o.nodes)
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	for i := range o.nodes {
		names[i] = fmt.Sprintf("kafka%d-%s", i+1, suffix)
		voters = append(voters, fmt.Sprintf("%d@%s:9094", i+1, names[i]))
		c.ports = append(c.ports, freePort(t))
	}
	if o.nodes > 1 {
		nw, err := network.New(ctx)
		if err != nil {
			t.Fatalf("docker network: %v", err)
		}
		c.network = nw
	}
	c.names = names
	t.Cleanup(c.terminate)
	extra := o.extraConfig
	if o.sasl {
		if o.nodes != 1 {
			t.Fatal("a SASL listener on a single node only")
		}
		c.saslPort = freePort(t)
		extra = append(slices.Clone(extra), saslConfig(c.ports[0], c.saslPort)...)
	}
	for i := range o.nodes {
		port := strconv.Itoa(c.ports[i])
		exposed := []string{port + "/tcp"}
		bindings := nat.PortMap{nat.Port(port + "/tcp"): {{HostIP: "127.0.0.1", HostPort: port}}}
		if c.saslPort != 0 {
			sp := strconv.Itoa(c.saslPort)
			exposed = append(exposed, sp+"/tcp")
			bindings[nat.Port(sp+"/tcp")] = []nat.PortBinding{{HostIP: "127.0.0.1", HostPort: sp}}
		}
		req := testcontainers.ContainerRequest{
			Image:        kafkaImage,
			Name:         names[i],
			ExposedPorts: exposed,
			Env: map[string]string{
				"KAFKA_NODE_ID":      strconv.Itoa(i + 1),
				"KAFKA_PORT":         port,
				"KAFKA_VOTERS":       strings.Join(voters, ","),
				"KAFKA_REPLICATION":  strconv.Itoa(rf),
				"KAFKA_EXTRA_CONFIG": strings.Join(extra, "\n"),
				"KAFKA_HEAP_OPTS":    "-Xms256m -Xmx768m",
			},
			ConfigModifier: func(cfg *container.Config) { cfg.Hostname = names[i] },
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.PortBindings = bindings
			},
		}
		if c.network != nil {
			req.Networks = []string{c.network.Name}
			req.NetworkAliases = map[string][]string{c.network.Name: {names[i]}}
		}
		node, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
		if node != nil {
			c.nodes = append(c.nodes, node)
		}
		if err != nil {
			t.Fatalf("start %s from %s: %v (build the image with make kafka-image)", names[i], kafkaImage, err)
		}
	}
	c.waitReady(ctx, o.nodes)
	return c
}

// Bootstrap returns the host addresses of the running nodes.
func (c *cluster) Bootstrap() []string {
	out := make([]string, len(c.ports))
	for i, p := range c.ports {
		out[i] = "localhost:" + strconv.Itoa(p)
	}
	return out
}

// waitReady waits until the cluster answers metadata with want brokers and can create a topic
// (the controller quorum and the broker registrations are both up).
func (c *cluster) waitReady(ctx context.Context, want int) {
	c.t.Helper()
	// Three JVMs starting at once on a loaded 2-core machine can take over a minute.
	deadline := time.Now().Add(3 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		last = c.probe(ctx, want)
		if last == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	c.t.Fatalf("kafka cluster not ready after 3 minutes: %v\n%s", last, c.logs(ctx))
}

func (c *cluster) probe(ctx context.Context, want int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...), kgo.RequestRetries(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	meta, err := adm.BrokerMetadata(pctx)
	if err != nil {
		return err
	}
	if len(meta.Brokers) < want {
		return fmt.Errorf("%d of %d brokers registered", len(meta.Brokers), want)
	}
	return nil
}

// Kill sends SIGKILL to node i (no clean shutdown: open transactions stay open until the
// transaction coordinator times them out or the producer re-initializes).
func (c *cluster) Kill(ctx context.Context, i int) {
	c.t.Helper()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	defer cli.Close()
	if err := cli.ContainerKill(ctx, c.nodes[i].GetContainerID(), "KILL"); err != nil {
		c.t.Fatalf("kill node %d: %v", i, err)
	}
	c.waitStopped(ctx, i)
}

// Stop stops node i cleanly (SIGTERM, up to 60 s).
func (c *cluster) Stop(ctx context.Context, i int) {
	c.t.Helper()
	timeout := 60 * time.Second
	if err := c.nodes[i].Stop(ctx, &timeout); err != nil {
		c.t.Fatalf("stop node %d: %v", i, err)
	}
}

// Start starts a stopped or killed node i again, on the same host port with the same data,
// and waits until every node is registered.
func (c *cluster) Start(ctx context.Context, i int) {
	c.t.Helper()
	if err := c.nodes[i].Start(ctx); err != nil {
		c.t.Fatalf("start node %d: %v", i, err)
	}
	c.waitReady(ctx, len(c.nodes))
}

func (c *cluster) waitStopped(ctx context.Context, i int) {
	for range 100 {
		st, err := c.nodes[i].State(ctx)
		if err == nil && !st.Running {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("node %d still running", i)
}

func (c *cluster) logs(ctx context.Context) string {
	var b strings.Builder
	for i, n := range c.nodes {
		rc, err := n.Logs(ctx)
		if err != nil {
			fmt.Fprintf(&b, "node %d: logs: %v\n", i, err)
			continue
		}
		buf, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
		_ = rc.Close()
		if len(buf) > 16<<10 {
			buf = buf[len(buf)-16<<10:]
		}
		fmt.Fprintf(&b, "--- node %d ---\n%s\n", i, buf)
	}
	return b.String()
}

func (c *cluster) terminate() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if c.t.Failed() && os.Getenv("RILL_KAFKA_LOGS") != "" {
		c.t.Logf("broker logs:\n%s", c.logs(ctx))
	}
	for _, n := range c.nodes {
		_ = testcontainers.TerminateContainer(n)
	}
	if c.network != nil {
		_ = c.network.Remove(ctx)
	}
}

// freePort returns a TCP port free on the host right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
