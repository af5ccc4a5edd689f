package ai.scoringruntime;

import hex.genmodel.GenModel;
import hex.genmodel.PredictContributions;
import hex.genmodel.PredictContributionsFactory;
import hex.genmodel.algos.tree.SharedTreeMojoModelWithContributions;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;

/**
 * Scores a whole batch of rows in one call from Python, so a request costs one JNI crossing
 * instead of one per row. Rows arrive row-major in one double[] already encoded the way
 * score0 expects (categoricals as domain indices, missing as NaN); the adapter in Python owns
 * every check, because score0 itself checks nothing.
 */
public final class BatchScorer {
    private static final int RANDOM_VERIFICATION_ROWS = 2048;
    /** Fewer than for scores: genmodel's TreeSHAP, the reference, takes ~0.13 ms a row of a 100-tree GBM. */
    private static final int CONTRIBUTION_VERIFICATION_ROWS = 512;
    private final GenModel model;
    private final int nfeatures;
    private final int predsSize;
    private final ExecutorService pool;
    private final int minRowsPerTask;
    private final ThreadLocal<PredictContributions> contributions;
    private final String[] contributionNames;
    private final FlatForest forest;
    private final String scoringPath;
    private volatile Object[] explainer;

    /** `accelerate`: score with the flattened trees where they exist and match score0 on the verification rows. */
    public BatchScorer(GenModel model, int nfeatures, int threads, int minRowsPerTask, boolean accelerate) {
        this.model = model;
        FlatForest flat = null;
        String path = "genmodel's score0 (SCORER_ACCELERATE=off)";
        if (accelerate) {
            Object[] built = FlatForest.of(model);
            flat = (FlatForest) built[0];
            path = (String) built[1];
            if (flat != null) {
                String[] check = ForestCheck.mismatch(flat, model, RANDOM_VERIFICATION_ROWS, 0L);
                path = check[0].isEmpty()
                        ? "flattened trees, equal to genmodel's score0 to the bit on " + check[1] + " verification rows"
                        : "genmodel's score0 (" + check[0] + ")";
                flat = check[0].isEmpty() ? flat : null;
            }
        }
        this.forest = flat;
        this.scoringPath = path;
        this.nfeatures = nfeatures;
        this.predsSize = model.getPredsSize();
        this.minRowsPerTask = Math.max(1, minRowsPerTask);
        this.pool = threads > 1 ? Executors.newFixedThreadPool(threads, daemonThreads()) : null;
        PredictContributions probe = contributionsPredictor(model, null);
        this.contributionNames = probe == null ? new String[0] : probe.getContributionNames();
        // One predictor per thread: a predictor keeps a TreeSHAP workspace and is not thread-safe.
        this.contributions = probe == null ? null
                : ThreadLocal.withInitial(() -> contributionsPredictor(model, (DoubleSumTreeSHAP) explainer()[0]));
    }

    /** The trees' explainer and which code it runs, made at the first request for contributions (~0.4 s in a cold JVM). */
    private Object[] explainer() {
        Object[] made = explainer;
        if (made == null) {
            synchronized (this) {
                if (explainer == null) {
                    explainer = treeExplainer(model, forest, nfeatures);
                }
                made = explainer;
            }
        }
        return made;
    }

    /**
     * For a model genmodel explains: the tree ensemble explaining a GBM's or DRF's rows (null for
     * other models) and which code it runs. With the flattened trees in use (acceleration on), the trees that fit are explained from
     * tables, kept only if they agree with genmodel's TreeSHAP on the verification rows.
     */
    private static Object[] treeExplainer(GenModel model, FlatForest flat, int nfeatures) {
        if (!(model instanceof SharedTreeMojoModelWithContributions)) {
            return new Object[] {null, "genmodel's contributions predictor"};
        }
        DoubleSumTreeSHAP ensemble = DoubleSumTreeSHAP.of((SharedTreeMojoModelWithContributions) model, flat != null);
        String path = "genmodel's TreeSHAP, tree by tree, summed in double";
        if (ensemble.tabulatedTrees() == 0) {
            return new Object[] {ensemble, path};
        }
        String check = ensemble.mismatch(ForestCheck.randomRows(flat, CONTRIBUTION_VERIFICATION_ROWS, 1L), nfeatures);
        if (!check.isEmpty()) {
            return new Object[] {ensemble.withoutTables(), path + " (" + check + ")"};
        }
        return new Object[] {ensemble, "TreeSHAP tables for " + ensemble.tabulatedTrees() + " of " + ensemble.treeCount()
                + " trees (genmodel's TreeSHAP for the rest), summed in double, within 1e-5 of genmodel's on "
                + CONTRIBUTION_VERIFICATION_ROWS + " verification rows"};
    }

    /** A predictor, or null where genmodel has none (e.g. multinomial models refuse to make one). */
    private static PredictContributions contributionsPredictor(GenModel model, DoubleSumTreeSHAP trees) {
        if (!(model instanceof PredictContributionsFactory)) {
            return null;
        }
        try {
            if (trees != null) {
                return trees.predictorFor((SharedTreeMojoModelWithContributions) model);
            }
            return ((PredictContributionsFactory) model).makeContributionsPredictor();
        } catch (UnsupportedOperationException e) {
            return null;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("genmodel's contributions predictor is not reachable", e);
        }
    }

    /** Which code computes this model's contributions, and why; null before the first request for them. */
    public String contributionsPath() {
        Object[] made = explainer;
        return made == null ? null : (String) made[1];
    }

    /** Which code scores this model's rows, and why. */
    public String scoringPath() {
        return scoringPath;
    }

    public int predsSize() {
        return predsSize;
    }

    public String[] contributionNames() {
        return contributionNames.clone();
    }

    /** Returns nrows * predsSize values, row-major, exactly as score0 leaves them. */
    public double[] score(double[] data, int nrows) throws InterruptedException, ExecutionException {
        double[] out = new double[nrows * predsSize];
        run(nrows, (from, to) -> {
            if (forest != null) {
                forest.score(data, nfeatures, from, to, out);
                return;
            }
            double[] row = new double[nfeatures];
            double[] preds = new double[predsSize];
            for (int r = from; r < to; r++) {
                System.arraycopy(data, r * nfeatures, row, 0, nfeatures);
                model.score0(row, preds);
                System.arraycopy(preds, 0, out, r * predsSize, predsSize);
            }
        });
        return out;
    }

    /** Returns nrows * contributionNames().length values, row-major; the last name is the bias. */
    public float[] contributions(double[] data, int nrows) throws InterruptedException, ExecutionException {
        if (contributions == null) {
            throw new UnsupportedOperationException("this model does not compute contributions");
        }
        int contributionsSize = contributionNames.length;
        float[] out = new float[nrows * contributionsSize];
        run(nrows, (from, to) -> {
            PredictContributions predictor = contributions.get();
            double[] row = new double[nfeatures];
            for (int r = from; r < to; r++) {
                System.arraycopy(data, r * nfeatures, row, 0, nfeatures);
                float[] values = predictor.calculateContributions(row);
                System.arraycopy(values, 0, out, r * contributionsSize, contributionsSize);
            }
        });
        return out;
    }

    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    private interface RowRange {
        void apply(int from, int to);
    }

    private void run(int nrows, RowRange work) throws InterruptedException, ExecutionException {
        int tasks = pool == null ? 1 : Math.min(nrows / minRowsPerTask, Runtime.getRuntime().availableProcessors());
        if (tasks <= 1) {
            work.apply(0, nrows);
            return;
        }
        int step = (nrows + tasks - 1) / tasks;
        List<Future<?>> futures = new ArrayList<>();
        for (int from = 0; from < nrows; from += step) {
            final int start = from;
            final int end = Math.min(nrows, from + step);
            futures.add(pool.submit(() -> work.apply(start, end)));
        }
        for (Future<?> future : futures) {
            future.get();
        }
    }

    private static ThreadFactory daemonThreads() {
        return runnable -> {
            Thread thread = new Thread(runnable, "scorer-batch");
            thread.setDaemon(true);
            return thread;
        };
    }
}
