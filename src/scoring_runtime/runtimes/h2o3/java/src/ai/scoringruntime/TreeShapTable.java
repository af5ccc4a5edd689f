package ai.scoringruntime;

import hex.genmodel.algos.tree.SharedTreeNode;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One tree's path-dependent TreeSHAP values, tabulated at load (the idea of Fast TreeSHAP v2,
 * Yang 2021), so that explaining a row costs a walk of the tree and a few additions per leaf.
 *
 * genmodel's TreeSHAP recomputes, for every row, the permutation weights of every leaf's path.
 * But a row enters a leaf's formula only through which of the path's features it "satisfies"
 * (follows the path's branch at every split on that feature): for a leaf whose path holds d
 * distinct features with cover fractions z_j, feature i receives
 *     v * (o_i - z_i) * sum over S within A \ {i} of |S|! (d - |S| - 1)! / d! * prod over F \ S \ {i} of z_j,
 * where A is the set of satisfied features and o_i = [i in A]. So each leaf keeps d values for
 * each of the 2^d sets A, summed in double. The row's sets come from one pass over the nodes,
 * parents first, with genmodel's own {@code next} choosing each node's branch, as its TreeSHAP does.
 */
public final class TreeShapTable {
    /** Leaves with more distinct features on their path than this keep genmodel's TreeSHAP. */
    public static final int MAX_PATH_FEATURES = 12;

    private final SharedTreeNode[] nodes;
    /** Internal nodes, parents before children. */
    private final int[] order;
    private final int[] lefts;
    private final int[] rights;
    /** For an internal node: the position of its feature among the distinct features of its path. */
    private final int[] bits;
    private final int[] leafNodes;
    private final int[] leafDepths;
    private final int[] featureStarts;
    private final int[] features;
    private final int[] valueStarts;
    private final double[] values;
    private final double expected;
    private final int nodeCount;

    private TreeShapTable(SharedTreeNode[] nodes, Builder built) {
        this.nodes = nodes;
        this.nodeCount = nodes.length;
        this.order = built.order.stream().mapToInt(Integer::intValue).toArray();
        this.lefts = built.lefts;
        this.rights = built.rights;
        this.bits = built.bits;
        this.leafNodes = built.leafNodes.stream().mapToInt(Integer::intValue).toArray();
        this.leafDepths = built.leafDepths.stream().mapToInt(Integer::intValue).toArray();
        this.featureStarts = built.featureStarts.stream().mapToInt(Integer::intValue).toArray();
        this.features = built.features.stream().mapToInt(Integer::intValue).toArray();
        this.valueStarts = built.valueStarts.stream().mapToInt(Integer::intValue).toArray();
        this.values = built.values;
        this.expected = built.expected;
    }

    /** The tree's tables, or null when a path is too long for them or they would pass `budget` values. */
    public static TreeShapTable of(SharedTreeNode[] nodes, long budget) {
        Builder built = new Builder(nodes);
        return built.build(budget) ? new TreeShapTable(nodes, built) : null;
    }

    /** The number of values the tables hold. */
    public int size() {
        return values.length;
    }

    /** The tree's expected value: its leaves weighted by cover, as genmodel's TreeSHAP adds to the bias. */
    public double expected() {
        return expected;
    }

    /** Adds the row's contributions of this tree to phi; `masks` is scratch of at least nodeCount(). */
    public void add(double[] row, double[] phi, int[] masks) {
        masks[0] = -1;
        for (int n : order) {
            int hot = nodes[n].next(row);
            int cold = hot == lefts[n] ? rights[n] : lefts[n];
            masks[hot] = masks[n];
            masks[cold] = masks[n] & ~(1 << bits[n]);
        }
        for (int leaf = 0; leaf < leafNodes.length; leaf++) {
            int depth = leafDepths[leaf];
            int satisfied = masks[leafNodes[leaf]] & ((1 << depth) - 1);
            int at = valueStarts[leaf] + satisfied * depth;
            int first = featureStarts[leaf];
            for (int i = 0; i < depth; i++) {
                phi[features[first + i]] += values[at + i];
            }
        }
    }

    public int nodeCount() {
        return nodeCount;
    }

    private static final class Builder {
        private final SharedTreeNode[] nodes;
        final List<Integer> order = new ArrayList<>();
        final int[] lefts;
        final int[] rights;
        final int[] bits;
        final List<Integer> leafNodes = new ArrayList<>();
        final List<Integer> leafDepths = new ArrayList<>();
        final List<Integer> featureStarts = new ArrayList<>();
        final List<Integer> features = new ArrayList<>();
        final List<Integer> valueStarts = new ArrayList<>();
        double[] values = new double[0];
        double expected;
        private int used;

        Builder(SharedTreeNode[] nodes) {
            this.nodes = nodes;
            this.lefts = new int[nodes.length];
            this.rights = new int[nodes.length];
            this.bits = new int[nodes.length];
        }

        boolean build(long budget) {
            // Node 0 is the root and children are found by their index in the array, as in genmodel's TreeSHAP.
            boolean[] seen = new boolean[nodes.length];
            ArrayDeque<Integer> queue = new ArrayDeque<>();
            queue.add(0);
            while (!queue.isEmpty()) {
                int n = queue.poll();
                if (n < 0 || n >= nodes.length || nodes[n] == null || seen[n]) {
                    return false;
                }
                seen[n] = true;
                if (!nodes[n].isLeaf()) {
                    order.add(n);
                    lefts[n] = nodes[n].getLeftChildIndex();
                    rights[n] = nodes[n].getRightChildIndex();
                    queue.add(lefts[n]);
                    queue.add(rights[n]);
                }
            }
            expected = visit(0, new int[MAX_PATH_FEATURES + 1], new double[MAX_PATH_FEATURES + 1], 0, budget);
            if (Double.isNaN(expected)) {
                return false;
            }
            values = Arrays.copyOf(values, used);
            return true;
        }

        /** Tabulates the leaves under n; returns n's cover-weighted mean value, or NaN when the tables cannot be made. */
        private double visit(int n, int[] pathFeatures, double[] pathZeros, int depth, long budget) {
            SharedTreeNode node = nodes[n];
            if (node.isLeaf()) {
                return leaf(n, node.getLeafValue(), pathFeatures, pathZeros, depth, budget) ? node.getLeafValue() : Double.NaN;
            }
            int feature = node.getSplitIndex();
            int position = 0;
            while (position < depth && pathFeatures[position] != feature) {
                position++;
            }
            if (position == MAX_PATH_FEATURES) {
                return Double.NaN;
            }
            bits[n] = position;
            double weight = node.getWeight();
            double mean = 0;
            for (int child : new int[] {lefts[n], rights[n]}) {
                int[] features = pathFeatures.clone();
                double[] zeros = pathZeros.clone();
                double fraction = nodes[child].getWeight() / weight;
                zeros[position] = (position < depth ? pathZeros[position] : 1.0) * fraction;
                features[position] = feature;
                double value = visit(child, features, zeros, Math.max(depth, position + 1), budget);
                if (Double.isNaN(value)) {
                    return Double.NaN;
                }
                mean += nodes[child].getWeight() * value;
            }
            return mean / weight;
        }

        private boolean leaf(int n, double value, int[] pathFeatures, double[] zeros, int depth, long budget) {
            int sets = 1 << depth;
            if (used + (long) sets * depth > budget) {
                return false;
            }
            if (used + sets * depth > values.length) {
                values = Arrays.copyOf(values, Math.max(2 * values.length, used + sets * depth));
            }
            leafNodes.add(n);
            leafDepths.add(depth);
            featureStarts.add(features.size());
            valueStarts.add(used);
            for (int i = 0; i < depth; i++) {
                features.add(pathFeatures[i]);
            }
            double[] shares = permutationShares(depth);
            double[] polynomial = new double[depth + 1];
            for (int satisfied = 0; satisfied < sets; satisfied++) {
                for (int i = 0; i < depth; i++) {
                    // sum over S within B = A \ {i} of shares[|S|] * prod over B \ S of z, times prod over the unsatisfied but i.
                    Arrays.fill(polynomial, 0);
                    polynomial[0] = 1;
                    int size = 0;
                    double outside = 1;
                    for (int j = 0; j < depth; j++) {
                        if (j == i) {
                            continue;
                        }
                        if ((satisfied >> j & 1) == 0) {
                            outside *= zeros[j];
                            continue;
                        }
                        size++;
                        for (int k = size; k >= 0; k--) {  // multiply by (z_j + x): x counts the members of S
                            polynomial[k] = polynomial[k] * zeros[j] + (k > 0 ? polynomial[k - 1] : 0);
                        }
                    }
                    double sum = 0;
                    for (int k = 0; k <= size; k++) {
                        sum += polynomial[k] * shares[k];
                    }
                    double one = satisfied >> i & 1;
                    values[used + satisfied * depth + i] = value * (one - zeros[i]) * outside * sum;
                }
            }
            used += sets * depth;
            return true;
        }

        /** |S|! (d - |S| - 1)! / d! for |S| = 0 .. d - 1. */
        private static double[] permutationShares(int depth) {
            double[] shares = new double[Math.max(depth, 1)];
            for (int k = 0; k < depth; k++) {
                double share = 1.0 / depth;
                // k! (d-k-1)! / d! = 1 / (d * C(d-1, k))
                for (int m = 1; m <= k; m++) {
                    share *= (double) m / (depth - m);
                }
                shares[k] = share;
            }
            return shares;
        }
    }
}
