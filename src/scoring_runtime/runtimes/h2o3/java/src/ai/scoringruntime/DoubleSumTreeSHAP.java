package ai.scoringruntime;

import hex.genmodel.PredictContributions;
import hex.genmodel.algos.tree.SharedTreeGraph;
import hex.genmodel.algos.tree.SharedTreeMojoModelWithContributions;
import hex.genmodel.algos.tree.SharedTreeNode;
import hex.genmodel.algos.tree.SharedTreeSubgraph;
import hex.genmodel.algos.tree.TreeSHAP;
import hex.genmodel.algos.tree.TreeSHAPPredictor;

import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * genmodel's TreeSHAP ensemble, but summing the trees in double precision, and explaining the
 * trees {@link TreeShapTable} could tabulate from those tables.
 *
 * genmodel adds every tree's contributions into one float[]; over a hundred trees with a large
 * bias the rounding drifts past 1e-5 of the prediction, so contributions plus bias no longer add
 * up to it. Here each tree is explained by its tables or exactly as genmodel does (its own public
 * TreeSHAP), the sum is kept in double, and the model's own contributions predictor applies the
 * algorithm's post-processing (DRF's averaging, the bias), so the values stay H2O's. The ensemble
 * holds no per-row state, so one serves every thread; each thread needs its own predictor.
 */
final class DoubleSumTreeSHAP implements TreeSHAPPredictor<double[]> {
    /** Values all the trees' tables may hold together (8 bytes each); the trees past it keep genmodel's TreeSHAP. */
    private static final long TABLE_BUDGET = 4_000_000;
    private static final double TOLERANCE = 1e-5;
    private final TreeSHAPPredictor<double[]>[] trees;
    private final TreeShapTable[] tables;
    private final double initPrediction;
    private final int workspaceTree;
    private final int scratch;

    @SuppressWarnings("unchecked")
    private DoubleSumTreeSHAP(SharedTreeMojoModelWithContributions model, boolean tabulate) {
        SharedTreeGraph graph = model.computeGraph(-1);
        trees = new TreeSHAPPredictor[graph.subgraphArray.size()];
        tables = new TreeShapTable[trees.length];
        int largest = 0;
        int nodes = 0;
        long budget = TABLE_BUDGET;
        for (int i = 0; i < trees.length; i++) {
            SharedTreeSubgraph tree = graph.subgraphArray.get(i);
            SharedTreeNode[] treeNodes = tree.nodesArray.toArray(new SharedTreeNode[0]);
            trees[i] = new TreeSHAP<double[], SharedTreeNode, SharedTreeNode>(treeNodes, treeNodes, 0);
            if (trees[i].getWorkspaceSize() > trees[largest].getWorkspaceSize()) {
                largest = i;
            }
            tables[i] = tabulate ? TreeShapTable.of(treeNodes, budget) : null;
            if (tables[i] != null) {
                budget -= tables[i].size();
                nodes = Math.max(nodes, tables[i].nodeCount());
            }
        }
        workspaceTree = largest;
        initPrediction = model.getInitF();
        scratch = nodes;
    }

    private DoubleSumTreeSHAP(DoubleSumTreeSHAP tabulated) {
        trees = tabulated.trees;
        tables = new TreeShapTable[trees.length];
        initPrediction = tabulated.initPrediction;
        workspaceTree = tabulated.workspaceTree;
        scratch = 0;
    }

    /** The ensemble; with `tabulate`, the trees that fit are explained from tables, checked by {@link #mismatch}. */
    static DoubleSumTreeSHAP of(SharedTreeMojoModelWithContributions model, boolean tabulate) {
        return new DoubleSumTreeSHAP(model, tabulate);
    }

    /** The same trees, every one explained by genmodel's TreeSHAP. */
    DoubleSumTreeSHAP withoutTables() {
        return new DoubleSumTreeSHAP(this);
    }

    /** How many trees are explained from tables. */
    int tabulatedTrees() {
        int count = 0;
        for (TreeShapTable table : tables) {
            count += table == null ? 0 : 1;
        }
        return count;
    }

    int treeCount() {
        return trees.length;
    }

    /** "" when the tables give genmodel's TreeSHAP values on every row (within 1e-5 of the row's largest value), else the first difference. */
    String mismatch(double[][] rows, int width) {
        DoubleSumTreeSHAP reference = withoutTables();
        for (double[] row : rows) {
            float[] expected = reference.calculateContributions(row, new float[width + 1]);
            float[] actual = calculateContributions(row, new float[width + 1]);
            double scale = 1;
            for (float value : expected) {
                scale = Math.max(scale, Math.abs(value));
            }
            for (int i = 0; i < expected.length; i++) {
                if (!(Math.abs(expected[i] - actual[i]) <= TOLERANCE * scale)) {
                    return "the tabulated TreeSHAP gave " + actual[i] + " where genmodel's gives " + expected[i]
                            + " for contribution " + i + " on " + Arrays.toString(row);
                }
            }
        }
        return "";
    }

    /** The model's own contributions predictor, fed by this ensemble. */
    PredictContributions predictorFor(SharedTreeMojoModelWithContributions model) throws ReflectiveOperationException {
        Method factory = SharedTreeMojoModelWithContributions.class.getDeclaredMethod(
                "getContributionsPredictor", TreeSHAPPredictor.class);
        factory.setAccessible(true);
        return (PredictContributions) factory.invoke(model, this);
    }

    @Override
    public float[] calculateContributions(double[] row, float[] out) {
        return calculateContributions(row, out, 0, -1, makeWorkspace());
    }

    @Override
    public float[] calculateContributions(double[] row, float[] out, int condition, int conditionFeature, Workspace workspace) {
        // genmodel keeps one workspace per thread for all models; it may be too small for this one.
        if (workspace == null || workspace.getSize() < getWorkspaceSize()) {
            workspace = makeWorkspace();
        }
        double[] sum = new double[out.length];
        float[] one = new float[out.length];
        int[] masks = new int[scratch];
        for (int t = 0; t < trees.length; t++) {
            if (condition == 0 && tables[t] != null) {
                tables[t].add(row, sum, masks);
                sum[sum.length - 1] += tables[t].expected();
                continue;
            }
            Arrays.fill(one, 0f);
            trees[t].calculateContributions(row, one, condition, conditionFeature, workspace);
            for (int i = 0; i < one.length; i++) {
                sum[i] += one[i];
            }
        }
        if (condition == 0) {
            sum[sum.length - 1] += initPrediction;
        }
        for (int i = 0; i < out.length; i++) {
            out[i] += (float) sum[i];
        }
        return out;
    }

    @Override
    public double[] calculateInterventionalContributions(double[] row, double[] background, double[] out, int[] catOffsets, boolean expand) {
        throw new UnsupportedOperationException("interventional contributions are not used by the scorer");
    }

    @Override
    public Workspace makeWorkspace() {
        return trees[workspaceTree].makeWorkspace();
    }

    @Override
    public int getWorkspaceSize() {
        return trees[workspaceTree].getWorkspaceSize();
    }
}
