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
 * genmodel's TreeSHAP ensemble, but summing the trees in double precision.
 *
 * genmodel adds every tree's contributions into one float[]; over a hundred trees with a large
 * bias the rounding drifts past 1e-5 of the prediction, so contributions plus bias no longer add
 * up to it. Here each tree is explained exactly as genmodel does (its own public TreeSHAP), the
 * sum is kept in double, and the model's own contributions predictor applies the algorithm's
 * post-processing (DRF's averaging, the bias), so the values stay H2O's.
 */
final class DoubleSumTreeSHAP implements TreeSHAPPredictor<double[]> {
    private final TreeSHAPPredictor<double[]>[] trees;
    private final double initPrediction;
    private final int workspaceTree;

    @SuppressWarnings("unchecked")
    private DoubleSumTreeSHAP(SharedTreeMojoModelWithContributions model) {
        SharedTreeGraph graph = model.computeGraph(-1);
        trees = new TreeSHAPPredictor[graph.subgraphArray.size()];
        int largest = 0;
        for (int i = 0; i < trees.length; i++) {
            SharedTreeSubgraph tree = graph.subgraphArray.get(i);
            SharedTreeNode[] nodes = tree.nodesArray.toArray(new SharedTreeNode[0]);
            trees[i] = new TreeSHAP<double[], SharedTreeNode, SharedTreeNode>(nodes, nodes, 0);
            if (trees[i].getWorkspaceSize() > trees[largest].getWorkspaceSize()) {
                largest = i;
            }
        }
        workspaceTree = largest;
        initPrediction = model.getInitF();
    }

    /** The model's own contributions predictor, fed by this ensemble. */
    static PredictContributions predictorFor(SharedTreeMojoModelWithContributions model) throws ReflectiveOperationException {
        Method factory = SharedTreeMojoModelWithContributions.class.getDeclaredMethod(
                "getContributionsPredictor", TreeSHAPPredictor.class);
        factory.setAccessible(true);
        return (PredictContributions) factory.invoke(model, new DoubleSumTreeSHAP(model));
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
        for (TreeSHAPPredictor<double[]> tree : trees) {
            Arrays.fill(one, 0f);
            tree.calculateContributions(row, one, condition, conditionFeature, workspace);
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
