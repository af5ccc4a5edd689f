package ai.scoringruntime;

import hex.genmodel.GenModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

/**
 * Compares a {@link FlatForest} with genmodel's score0 before it may serve.
 *
 * Random rows rarely reach a deep node with a value exactly on its threshold, where an off-by-one
 * comparison would show. So besides rows drawn at random from every column's interesting values
 * (split points and their neighbouring doubles, NaN, every level code and codes outside the
 * domain), every node gets rows that are steered down the path to it and then given, in the
 * node's column, its threshold, the doubles either side of it and NaN (a numeric split), or every
 * level code (a group split; past 16 levels the ends, codes outside the domain and 16 at random); those rows are compared tree by tree with genmodel's own scoreTree,
 * the random rows prediction by prediction with score0.
 */
public final class ForestCheck {
    private static final int LEVEL_PROBES = 16;
    private final FlatForest forest;
    private final GenModel model;
    private final double[][] candidates;
    private final Random random;
    private final double[] expected;
    private final double[] actual;
    private int rows;

    private ForestCheck(FlatForest forest, GenModel model, long seed) {
        this.forest = forest;
        this.model = model;
        this.candidates = candidates(forest);
        this.random = new Random(seed);
        this.expected = new double[forest.predsSize()];
        this.actual = new double[forest.predsSize()];
    }

    /** "" and the number of rows compared when every value is genmodel's bit for bit, else the first difference. */
    public static String[] mismatch(FlatForest forest, GenModel model, int randomRows, long seed) {
        ForestCheck check = new ForestCheck(forest, model, seed);
        String found = check.run(randomRows);
        return new String[] {found, Integer.toString(check.rows)};
    }

    /** Rows drawn at random from every column's interesting values, as the check draws them. */
    static double[][] randomRows(FlatForest forest, int count, long seed) {
        ForestCheck check = new ForestCheck(forest, null, seed);
        double[][] rows = new double[count][];
        for (int r = 0; r < count; r++) {
            rows[r] = check.randomRow();
        }
        return rows;
    }

    private String run(int randomRows) {
        for (int r = 0; r < randomRows; r++) {
            String found = compare(randomRow());
            if (!found.isEmpty()) {
                return found;
            }
        }
        for (int node = 0; node < forest.nodeCount(); node++) {
            int column = forest.column(node);
            if (column < 0) {
                continue;
            }
            int tree = forest.tree(node);
            for (double value : probes(node, column)) {
                double[] row = steeredTo(node);
                row[column] = value;
                rows++;
                double theirs = forest.genmodelTreeValue(tree, row);
                double ours = forest.treeValue(tree, row);
                if (Double.doubleToLongBits(theirs) != Double.doubleToLongBits(ours)) {
                    return "tree " + tree + " of the flattened trees gave " + ours + " where genmodel's scoreTree gives "
                            + theirs + " on " + Arrays.toString(row);
                }
            }
        }
        return "";
    }

    private double[] probes(int node, int column) {
        double split = forest.split(node);
        if (!Double.isNaN(split)) {
            return new double[] {split, Math.nextDown(split), Math.nextUp(split), Double.NaN};
        }
        int levels = Math.max(forest.levels(column), 0);
        if (levels <= LEVEL_PROBES) {
            double[] codes = new double[levels + 3];
            for (int i = 0; i < codes.length - 1; i++) {
                codes[i] = i - 1;
            }
            codes[codes.length - 1] = Double.NaN;
            return codes;
        }
        // Many levels (an airport code): the ends, the codes outside the domain, NaN, and a sample.
        double[] codes = new double[LEVEL_PROBES + 5];
        double[] ends = {-1, 0, levels - 1, levels, Double.NaN};
        System.arraycopy(ends, 0, codes, 0, ends.length);
        for (int i = ends.length; i < codes.length; i++) {
            codes[i] = random.nextInt(levels);
        }
        return codes;
    }

    /** A random row changed, column by column, until it takes the path from its tree's root to `node`. */
    private double[] steeredTo(int node) {
        List<Integer> path = new ArrayList<>();
        for (int n = node; forest.parent(n) >= 0; n = forest.parent(n)) {
            path.add(0, n);
        }
        double[] row = randomRow();
        for (int attempt = 0; attempt < 3; attempt++) {
            boolean steered = true;
            for (int child : path) {
                int parent = forest.parent(child);
                boolean right = forest.isRightChild(child);
                if (forest.goesRight(parent, row[forest.column(parent)]) != right) {
                    steered &= steer(parent, right, row);
                }
            }
            if (steered) {
                break;
            }
        }
        return row;
    }

    private boolean steer(int node, boolean right, double[] row) {
        int column = forest.column(node);
        double[] values = candidates[column];
        double kept = row[column];
        int start = random.nextInt(values.length);
        for (int i = 0; i < values.length; i++) {
            row[column] = values[(start + i) % values.length];
            if (forest.goesRight(node, row[column]) == right) {
                return true;
            }
        }
        row[column] = kept;
        return false;
    }

    private double[] randomRow() {
        double[] row = new double[candidates.length];
        for (int c = 0; c < row.length; c++) {
            row[c] = candidates[c][random.nextInt(candidates[c].length)];
        }
        return row;
    }

    private String compare(double[] row) {
        rows++;
        model.score0(row.clone(), expected);
        forest.score0(row.clone(), actual);
        for (int i = 0; i < expected.length; i++) {
            if (Double.doubleToLongBits(expected[i]) != Double.doubleToLongBits(actual[i])) {
                return "the flattened trees gave " + actual[i] + " where score0 gives " + expected[i]
                        + " on " + Arrays.toString(row);
            }
        }
        return "";
    }

    private static double[][] candidates(FlatForest forest) {
        int width = forest.width();
        List<TreeSet<Double>> values = new ArrayList<>();
        for (int c = 0; c < width; c++) {
            TreeSet<Double> set = new TreeSet<>();
            set.add(Double.NaN);
            set.add(0.0);
            for (int level = -2; level <= forest.levels(c) + 2 && forest.levels(c) >= 0; level++) {
                set.add((double) level);
            }
            values.add(set);
        }
        for (int n = 0; n < forest.nodeCount(); n++) {
            int c = forest.column(n);
            double split = c < 0 ? Double.NaN : forest.split(n);
            if (Double.isNaN(split)) {
                continue;
            }
            values.get(c).addAll(Arrays.asList(split, Math.nextDown(split), Math.nextUp(split), split - 1, split + 1));
        }
        double[][] out = new double[width][];
        for (int c = 0; c < width; c++) {
            out[c] = values.get(c).stream().mapToDouble(Double::doubleValue).toArray();
        }
        return out;
    }
}
