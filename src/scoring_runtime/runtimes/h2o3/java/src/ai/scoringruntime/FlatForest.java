package ai.scoringruntime;

import hex.genmodel.GenModel;
import hex.genmodel.algos.drf.DrfMojoModel;
import hex.genmodel.algos.gbm.GbmMojoModel;
import hex.genmodel.algos.tree.NaSplitDir;
import hex.genmodel.algos.tree.ScoreTree2;
import hex.genmodel.algos.tree.SharedTreeMojoModel;
import hex.genmodel.utils.ByteBufferWrapper;
import hex.genmodel.utils.GenmodelBitSet;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A GBM's or DRF's trees decoded once into flat arrays, scored with the same decisions as
 * genmodel's {@code SharedTreeMojoModel.scoreTree}.
 *
 * genmodel walks each tree's compressed bytes for every row, decoding every node again; that
 * decoding is most of a MOJO's scoring time. The decisions below are scoreTree's, operand for
 * operand (including its quirk of checking a categorical value's range against the last bitset
 * decoded on the path), each tree's leaf value is added in genmodel's order and the model's own
 * {@code unifyPreds} turns the sums into predictions, so the result is score0's to the bit. It is
 * used only after {@link ForestCheck} has compared it with score0 on rows built to reach every
 * split's boundary; anything else (other algorithms, older MOJO formats) stays on score0.
 */
public final class FlatForest {
    private static final int LEFTWARD = 1;
    private static final int NA_VS_REST = 2;
    private static final int GROUP_TEST = 4;
    private static final int LEAF = -1;
    private static final int BLOCK = 64;

    private final SharedTreeMojoModel model;
    private final int predsSize;
    private int[] columns;
    private double[] splits;
    private byte[] flags;
    private GenmodelBitSet[] groups;
    private GenmodelBitSet[] ranges;
    private int[] lefts;
    private int[] rights;
    private double[] leaves;
    private int[] parents;
    private int[] treeOf;
    private final List<byte[]> treeBytes = new ArrayList<>();
    private boolean[] rightChildren;
    private int nodes;
    private final int[] roots;
    /** The number of steps from each tree's root to its deepest leaf. */
    private final int[] depths;
    /** Both children of node n at 2n and 2n + 1; a leaf's are itself. */
    private final int[] children;
    /** A leaf, or a numeric split on a numeric column: right when d >= split, or d is NaN and NA goes right. */
    private final boolean[] plain;
    private final boolean[] naRight;
    private final int[] stepColumns;
    /** A categorical test's direction for each level code, where the test is one. */
    private final boolean[][] levelTables;
    private final double[] stepSplits;
    private final int[] targets;
    private final int[] domainSizes;

    private FlatForest(SharedTreeMojoModel model) throws ReflectiveOperationException {
        this.model = model;
        this.predsSize = model.getPredsSize();
        byte[][] trees = (byte[][]) field("_compressed_trees").get(model);
        int groupsCount = field("_ntree_groups").getInt(model);
        int perGroup = field("_ntrees_per_group").getInt(model);
        int offset = model._nclasses == 1 ? 0 : 1;
        String[][] domains = model._domains;
        domainSizes = new int[domains.length];
        for (int c = 0; c < domains.length; c++) {
            domainSizes[c] = domains[c] == null ? Integer.MAX_VALUE : domains[c].length;
        }
        int capacity = 1024;
        columns = new int[capacity];
        splits = new double[capacity];
        flags = new byte[capacity];
        groups = new GenmodelBitSet[capacity];
        ranges = new GenmodelBitSet[capacity];
        lefts = new int[capacity];
        rights = new int[capacity];
        leaves = new double[capacity];
        parents = new int[capacity];
        treeOf = new int[capacity];
        rightChildren = new boolean[capacity];
        List<Integer> rootList = new ArrayList<>();
        List<Integer> targetList = new ArrayList<>();
        for (int classIndex = 0; classIndex < perGroup; classIndex++) {
            for (int group = 0; group < groupsCount; group++) {
                byte[] tree = trees[classIndex * groupsCount + group];
                if (tree != null) {
                    treeBytes.add(tree);
                    rootList.add(parse(tree, new ByteBufferWrapper(tree), null));
                    targetList.add(offset + classIndex);
                }
            }
        }
        roots = rootList.stream().mapToInt(Integer::intValue).toArray();
        targets = targetList.stream().mapToInt(Integer::intValue).toArray();
        children = new int[2 * nodes];
        plain = new boolean[nodes];
        naRight = new boolean[nodes];
        stepColumns = new int[nodes];
        stepSplits = new double[nodes];
        int[] depthOf = new int[nodes];
        depths = new int[roots.length];
        for (int n = 0; n < nodes; n++) {
            boolean leaf = columns[n] == LEAF;
            depthOf[n] = parents[n] < 0 ? 0 : depthOf[parents[n]] + 1;
            depths[treeOf[n]] = Math.max(depths[treeOf[n]], depthOf[n]);
            // A leaf steps to itself whatever the value (NaN >= NaN is false), so a block of rows can
            // take its tree's full depth in steps, each row stopping at its leaf.
            children[2 * n] = leaf ? n : lefts[n];
            children[2 * n + 1] = leaf ? n : rights[n];
            stepColumns[n] = leaf ? 0 : columns[n];
            stepSplits[n] = leaf ? Double.NaN : splits[n];
            plain[n] = leaf || (flags[n] & ~LEFTWARD) == 0 && domainSizes[columns[n]] == Integer.MAX_VALUE;
            naRight[n] = !leaf && (flags[n] & LEFTWARD) == 0;
        }
        levelTables = new boolean[nodes][];
        for (int n = 0; n < nodes; n++) {
            if (columns[n] != LEAF && (flags[n] & (GROUP_TEST | NA_VS_REST)) != 0 && domainSizes[columns[n]] != Integer.MAX_VALUE) {
                // Past NaN, this test depends on the value only through (int) d: tabulate it per level.
                boolean[] table = new boolean[domainSizes[columns[n]]];
                for (int level = 0; level < table.length; level++) {
                    table[level] = goesRight(n, level);
                }
                levelTables[n] = table;
            }
        }
    }

    /** The flattened forest, or null with the reason when this model must stay on score0. */
    public static Object[] of(GenModel model) {
        Class<?> type = model.getClass();
        if (type != GbmMojoModel.class && type != DrfMojoModel.class) {
            return new Object[] {null, "genmodel's score0 (the flattened trees cover GBM and DRF MOJOs)"};
        }
        try {
            Field scorer = SharedTreeMojoModel.class.getDeclaredField("_scoreTree");
            scorer.setAccessible(true);
            if (!(scorer.get(model) instanceof ScoreTree2)) {
                return new Object[] {null, "genmodel's score0 (a MOJO format before 1.2)"};
            }
            return new Object[] {new FlatForest((SharedTreeMojoModel) model), ""};
        } catch (ReflectiveOperationException | RuntimeException e) {
            return new Object[] {null, "genmodel's score0 (its trees could not be read: " + e + ")"};
        } catch (OutOfMemoryError e) {
            // The half-built arrays are garbage already; the model itself still scores on score0.
            return new Object[] {null, "genmodel's score0 (the flattened trees do not fit in the JVM heap; raise SCORER_JVM_XMX)"};
        }
    }

    private static Field field(String name) throws NoSuchFieldException {
        Field f = SharedTreeMojoModel.class.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }

    /** Decodes the node at ab's position as scoreTree reads it; `visible` is the bitset it last filled on this path. */
    private int parse(byte[] tree, ByteBufferWrapper ab, GenmodelBitSet visible) {
        int nodeType = ab.get1U();
        int colId = ab.get2();
        if (colId == 65535) {
            return leaf(ab.get4f());
        }
        if (colId >= model.nfeatures()) {
            throw new IllegalStateException("a split on column " + colId + " of " + model.nfeatures());
        }
        int naSplitDir = ab.get1U();
        boolean naVsRest = naSplitDir == NaSplitDir.NAvsREST.value();
        boolean leftward = naSplitDir == NaSplitDir.NALeft.value() || naSplitDir == NaSplitDir.Left.value();
        int lmask = nodeType & 51;
        int equal = nodeType & 12;
        float splitVal = -1;
        GenmodelBitSet own = null;
        if (!naVsRest) {
            if (equal == 0) {
                splitVal = ab.get4f();
            } else {
                own = new GenmodelBitSet(0);
                if (equal == 8) {
                    own.fill2(tree, ab);
                } else {
                    own.fill3(tree, ab);
                }
                visible = own;
            }
        }
        int node = add(colId, splitVal, (leftward ? LEFTWARD : 0) | (naVsRest ? NA_VS_REST : 0) | (equal != 0 ? GROUP_TEST : 0), own, visible);
        int position = ab.position();

        ByteBufferWrapper left = new ByteBufferWrapper(tree);
        left.skip(position);
        if (lmask <= 3) {
            left.skip(lmask + 1);
        }
        int leftNode = (lmask & 16) != 0 ? leaf(left.get4f()) : parse(tree, left, visible);

        ByteBufferWrapper right = new ByteBufferWrapper(tree);
        right.skip(position);
        switch (lmask) {
            case 0: right.skip(right.get1U()); break;
            case 1: right.skip(right.get2()); break;
            case 2: right.skip(right.get3()); break;
            case 3: right.skip(right.get4()); break;
            case 48: right.skip(4); break;
            default: throw new IllegalStateException("illegal lmask value " + lmask);
        }
        int rmask = (nodeType & 0xC0) >> 2;
        int rightNode = (rmask & 16) != 0 ? leaf(right.get4f()) : parse(tree, right, visible);
        lefts[node] = leftNode;
        rights[node] = rightNode;
        parents[leftNode] = node;
        parents[rightNode] = node;
        rightChildren[rightNode] = true;
        return node;
    }

    private int leaf(float value) {
        int node = add(LEAF, 0, 0, null, null);
        leaves[node] = value;
        return node;
    }

    private int add(int colId, float splitVal, int flag, GenmodelBitSet own, GenmodelBitSet visible) {
        if (nodes == columns.length) {
            int capacity = nodes * 2;
            columns = Arrays.copyOf(columns, capacity);
            splits = Arrays.copyOf(splits, capacity);
            flags = Arrays.copyOf(flags, capacity);
            groups = Arrays.copyOf(groups, capacity);
            ranges = Arrays.copyOf(ranges, capacity);
            lefts = Arrays.copyOf(lefts, capacity);
            rights = Arrays.copyOf(rights, capacity);
            leaves = Arrays.copyOf(leaves, capacity);
            parents = Arrays.copyOf(parents, capacity);
            treeOf = Arrays.copyOf(treeOf, capacity);
            rightChildren = Arrays.copyOf(rightChildren, capacity);
        }
        parents[nodes] = -1;
        treeOf[nodes] = treeBytes.size() - 1;
        columns[nodes] = colId;
        splits[nodes] = splitVal;
        flags[nodes] = (byte) flag;
        groups[nodes] = own;
        ranges[nodes] = visible;
        return nodes++;
    }

    /**
     * score0's predictions for rows [from, to) of a row-major matrix, into out (predsSize a row).
     * Rows go through each tree in blocks, a level at a time: the rows of a block do not depend
     * on each other, so the processor overlaps their steps instead of waiting on each row's
     * chain of loads and mispredicted branches. Each row still adds its trees in genmodel's order.
     */
    void score(double[] data, int width, int from, int to, double[] out) {
        double[] row = new double[width];
        double[] preds = new double[predsSize];
        int[] at = new int[BLOCK];
        double[] sums = new double[BLOCK * predsSize];
        for (int start = from; start < to; start += BLOCK) {
            int n = Math.min(BLOCK, to - start);
            Arrays.fill(sums, 0);
            for (int t = 0; t < roots.length; t++) {
                Arrays.fill(at, 0, n, roots[t]);
                for (int level = 0; level < depths[t]; level++) {
                    for (int i = 0; i < n; i++) {
                        int node = at[i];
                        at[i] = step(node, data[(start + i) * width + stepColumns[node]]);
                    }
                }
                int k = targets[t];
                for (int i = 0; i < n; i++) {
                    sums[i * predsSize + k] += leaves[at[i]];
                }
            }
            for (int i = 0; i < n; i++) {
                System.arraycopy(data, (start + i) * width, row, 0, width);
                System.arraycopy(sums, i * predsSize, preds, 0, predsSize);
                model.unifyPreds(row, 0.0, preds);
                System.arraycopy(preds, 0, out, (start + i) * predsSize, predsSize);
            }
        }
    }

    /** The child a value leads to from a node (a leaf leads to itself). */
    private int step(int node, double d) {
        boolean right;
        if (plain[node]) {
            right = d >= stepSplits[node] | (d != d & naRight[node]);
        } else {
            boolean[] table = levelTables[node];
            int code = (int) d;
            if (table == null) {
                right = goesRight(node, d);
            } else if (d != d) {
                right = naRight[node];
            } else {
                right = code >= 0 && code < table.length ? table[code] : goesRight(node, d);
            }
        }
        return children[2 * node + (right ? 1 : 0)];
    }

    /** scoreTree's test at a node, on the value of the node's column. */
    boolean goesRight(int node, double d) {
        int c = columns[node];
        int flag = flags[node];
        GenmodelBitSet range = ranges[node];
        if (Double.isNaN(d) || ((flag & GROUP_TEST) != 0 && range != null && !range.isInRange((int) d)) || domainSizes[c] <= (int) d) {
            return (flag & LEFTWARD) == 0;
        }
        if ((flag & NA_VS_REST) != 0) {
            return false;
        }
        return (flag & GROUP_TEST) == 0 ? d >= splits[node] : groups[node].contains((int) d);
    }

    /** score0 for one row, into preds, by the same code as a batch. */
    void score0(double[] row, double[] preds) {
        score(row, row.length, 0, 1, preds);
    }

    int predsSize() {
        return predsSize;
    }

    int nodeCount() {
        return nodes;
    }

    int width() {
        return model.nfeatures();
    }

    /** The column a node tests, or -1 for a leaf. */
    int column(int node) {
        return columns[node];
    }

    /** The threshold of a numeric split, else NaN. */
    double split(int node) {
        return (flags[node] & (GROUP_TEST | NA_VS_REST)) == 0 ? splits[node] : Double.NaN;
    }

    /** The tree a node belongs to, as an index in scoring order. */
    int tree(int node) {
        return treeOf[node];
    }

    /** One tree's value for a row, from the flattened nodes. */
    double treeValue(int tree, double[] row) {
        int node = roots[tree];
        for (int level = 0; level < depths[tree]; level++) {
            node = step(node, row[stepColumns[node]]);
        }
        return leaves[node];
    }

    /** One tree's value for a row, by genmodel's own scoreTree on the compressed bytes. */
    double genmodelTreeValue(int tree, double[] row) {
        return SharedTreeMojoModel.scoreTree(treeBytes.get(tree), row, false, model._domains);
    }

    /** The node's parent, or -1 at a root. */
    int parent(int node) {
        return parents[node];
    }

    boolean isRightChild(int node) {
        return rightChildren[node];
    }

    /** The number of levels of a categorical column, or -1 for a numeric one. */
    int levels(int column) {
        return domainSizes[column] == Integer.MAX_VALUE ? -1 : domainSizes[column];
    }
}
