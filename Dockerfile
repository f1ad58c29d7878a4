# The aeops Airflow image: the official Airflow 3.3.2 image (Python 3.11) plus aeops's pinned dependencies
# and the aeops package. Used by docker-compose.yaml for every Airflow component, and meant for the official
# Helm chart unchanged (images.airflow.repository/tag). Not built on the machine that wrote it (no Docker
# engine); see docs/production.md.
FROM apache/airflow:3.3.2-python3.11

# The official image runs as the "airflow" user and installs Python packages for that user.
USER airflow
WORKDIR /opt/airflow

# Dependencies first (a code change does not re-install them). apache-airflow==3.3.2 is pinned in
# constraints.txt, so pip cannot up- or downgrade Airflow itself; constraints.txt pins everything else, each with the
# sha256 of its files: --require-hashes refuses any other file. pip itself is pinned too and installed first.
COPY --chown=airflow:0 constraints.txt scripts/hash_constraints.py /opt/airflow/
# rapidocr-onnxruntime declares opencv-python (GUI build, needs libGL); opencv-python-headless provides the same
# cv2 module without it: re-install the headless build's files last so cv2 imports in the slim image. setuptools
# and wheel (pinned, hashed) build the editable aeops install below.
RUN cd /opt/airflow \
 && python hash_constraints.py select constraints.txt --only pip > /tmp/pins-pip.txt \
 && pip install --no-cache-dir --require-hashes --no-deps -r /tmp/pins-pip.txt \
 && python hash_constraints.py select constraints.txt --runtime > /tmp/pins-runtime.txt \
 && pip install --no-cache-dir --require-hashes -r /tmp/pins-runtime.txt \
 && python hash_constraints.py select constraints.txt --only setuptools wheel > /tmp/pins-build.txt \
 && pip install --no-cache-dir --require-hashes -r /tmp/pins-build.txt \
 && python hash_constraints.py select constraints.txt --only opencv-python-headless > /tmp/pins-cv2.txt \
 && pip install --no-cache-dir --require-hashes --no-deps --force-reinstall -r /tmp/pins-cv2.txt \
 && rm /tmp/pins-*.txt

# The aeops package (include/aeops), installed editable so that a mounted ./include (docker-compose.yaml)
# takes effect without a rebuild; without the mount the copy baked in here is used.
COPY --chown=airflow:0 pyproject.toml README.md /opt/airflow/
COPY --chown=airflow:0 include /opt/airflow/include
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e /opt/airflow

# DAGs and plugins are baked in too (the Helm chart can run the image without mounts or git-sync).
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins

ENV AEOPS_PROJECT_DIR=/opt/airflow
