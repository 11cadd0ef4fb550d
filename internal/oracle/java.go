package oracle

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// ErrNoJava is returned by StartJava when the java command or the oracle jar is missing.
var ErrNoJava = errors.New("rill: oracle: java or the oracle jar is missing (build it with `make oracle`)")

// JarPath is where `make oracle` builds the Kafka Streams side, relative to the repository root.
const JarPath = "oracle/java/target/rill-oracle.jar"

// DefaultJar is the jar of this checkout: ORACLE_JAR when set, else JarPath under the
// repository root this package sits in.
func DefaultJar() string {
	if j := os.Getenv("ORACLE_JAR"); j != "" {
		return j
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", JarPath)
}

// Java is one JVM running the oracle jar: cases go in as JSON lines on its stdin, results come
// back one line each. One JVM serves a whole run (starting one costs seconds).
type Java struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
	enc *json.Encoder
}

// StartJava starts the JVM on jar. It returns ErrNoJava when java or the jar is missing.
func StartJava(jar string) (*Java, error) {
	if _, err := exec.LookPath("java"); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoJava, err)
	}
	if _, err := os.Stat(jar); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoJava, err)
	}
	cmd := exec.Command("java", "-XX:+UseSerialGC", "-Xss4m", "-jar", jar)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &Java{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20), enc: json.NewEncoder(in)}, nil
}

// Run runs one case through Kafka Streams' TopologyTestDriver.
func (j *Java) Run(c Case) (Result, error) {
	if err := j.enc.Encode(c); err != nil {
		return Result{}, fmt.Errorf("oracle: send case %s to java: %w", c.ID, err)
	}
	line, err := j.out.ReadBytes('\n')
	if err != nil {
		return Result{}, fmt.Errorf("oracle: read result of %s from java: %w", c.ID, err)
	}
	var res Result
	if err := json.Unmarshal(line, &res); err != nil {
		return Result{}, fmt.Errorf("oracle: result of %s: %w: %s", c.ID, err, line)
	}
	if res.Output == nil && res.Error == "" {
		res.Output = []Record{}
	}
	return res, nil
}

// Close ends the JVM: it exits when its input ends.
func (j *Java) Close() error {
	j.in.Close()
	return j.cmd.Wait()
}
