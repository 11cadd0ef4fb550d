// DescribeOracle prints a topology description the way Kafka Streams' describe() builds it,
// using the real java.util collections whose iteration orders shape that text (HashMap,
// HashSet, and TreeSet with a comparator that reads sizes that change while edges are added).
// It is the oracle for topology/describe_test.go: rill emulates these collections in Go.
//
// Input on stdin, one node per line, in the order the nodes were added, sub-topologies
// separated by a line "--":
//   Source <name> <topic,topic,...>
//   Processor <name> <parent,parent,...> [store,store,...]
//   Sink <name> <parent,...> <topic>
// Run: java topology/testdata/DescribeOracle.java < topology/testdata/<case>.graph
import java.io.*;
import java.util.*;

public class DescribeOracle {
    static final class Node {
        final String kind, name, target;
        final List<String> parents;
        final Set<String> items;
        int size = 1;
        final TreeSet<Node> preds = new TreeSet<>(CMP), succs = new TreeSet<>(CMP);
        Node(String kind, String name, List<String> parents, Set<String> items, String target) {
            this.kind = kind; this.name = name; this.parents = parents; this.items = items; this.target = target;
        }
    }

    static final Comparator<Node> CMP = (a, b) -> {
        if (a == b) return 0;
        if (a.size != b.size) return b.size - a.size;
        return a.name.compareTo(b.name);
    };

    static void grow(Node n, int delta) {
        n.size += delta;
        for (Node p : n.preds) grow(p, delta);
    }

    static String names(Set<Node> nodes) {
        if (nodes.isEmpty()) return "none";
        StringJoiner j = new StringJoiner(", ");
        for (Node n : nodes) j.add(n.name);
        return j.toString();
    }

    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        List<List<String[]>> subs = new ArrayList<>();
        subs.add(new ArrayList<>());
        for (String line; (line = in.readLine()) != null; ) {
            line = line.trim();
            if (line.isEmpty() || line.startsWith("#")) continue;
            if (line.equals("--")) { subs.add(new ArrayList<>()); continue; }
            subs.get(subs.size() - 1).add(line.split(" "));
        }
        StringBuilder out = new StringBuilder("Topologies:\n ");
        for (int id = 0; id < subs.size(); id++) {
            Set<String> group = new HashSet<>();
            Map<String, String[]> specs = new HashMap<>();
            for (String[] f : subs.get(id)) { group.add(f[1]); specs.put(f[1], f); }
            Map<String, Node> byName = new HashMap<>();
            for (String name : group) {
                String[] f = specs.get(name);
                switch (f[0]) {
                    case "Source": byName.put(name, new Node("Source", name, List.of(), new HashSet<>(List.of(f[2].split(","))), null)); break;
                    case "Processor": byName.put(name, new Node("Processor", name, List.of(f[2].split(",")),
                            new HashSet<>(f.length > 3 ? List.of(f[3].split(",")) : List.of()), null)); break;
                    default: byName.put(name, new Node("Sink", name, List.of(f[2].split(",")), null, f[3]));
                }
            }
            for (Node n : byName.values()) {
                for (String p : n.parents) {
                    Node pred = byName.get(p);
                    n.preds.add(pred);
                    pred.succs.add(n);
                    grow(pred, n.size);
                }
            }
            TreeSet<Node> nodes = new TreeSet<>(CMP);
            nodes.addAll(byName.values());
            out.append("  Sub-topology: ").append(id).append("\n");
            for (Node n : nodes) {
                out.append("    ");
                switch (n.kind) {
                    case "Source": out.append("Source: ").append(n.name).append(" (topics: ").append(n.items).append(")\n      --> ").append(names(n.succs)); break;
                    case "Processor": out.append("Processor: ").append(n.name).append(" (stores: ").append(n.items).append(")\n      --> ")
                            .append(names(n.succs)).append("\n      <-- ").append(names(n.preds)); break;
                    default: out.append("Sink: ").append(n.name).append(" (topic: ").append(n.target).append(")\n      <-- ").append(names(n.preds));
                }
                out.append('\n');
            }
            out.append('\n');
        }
        System.out.print(out);
    }
}
