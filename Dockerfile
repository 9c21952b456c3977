# syntax=docker/dockerfile:1
# SMAT Bot image: multi-stage, runs as a non-root user, Detoxify weights baked in at build time
# so the running container never reaches a model hub.
#
#   docker build -t smat-bot .                              # bakes the default model (unbiased)
#   docker build --build-arg DETOXIFY_MODEL= -t smat-bot .  # no weights: offline fallback only
#   docker build --build-arg DETOXIFY_MODEL=original -t smat-bot .

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The CPU build of torch; the default index would add gigabytes of CUDA libraries.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY classifiers classifiers
COPY platforms platforms
COPY storage storage
COPY config config
RUN pip install .

FROM build AS weights
ARG DETOXIFY_MODEL=unbiased
ENV TORCH_HOME=/models/torch HF_HOME=/models/hf
# Detoxify downloads the checkpoint into TORCH_HOME and the tokenizer/config into HF_HOME;
# both are copied into the final image, which then runs with the hubs switched off.
RUN mkdir -p /models \
 && if [ -n "$DETOXIFY_MODEL" ]; then \
      python -c "import sys; from detoxify import Detoxify; Detoxify(sys.argv[1])" "$DETOXIFY_MODEL"; \
    fi

FROM python:${PYTHON_VERSION}-slim AS runtime
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/smat smat
COPY --from=build /opt/venv /opt/venv
COPY --from=weights /models /models
COPY examples /opt/smat/examples
ARG DETOXIFY_MODEL=unbiased
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TORCH_HOME=/models/torch \
    HF_HOME=/models/hf \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    SMAT_CLASSIFIER__DETOXIFY__MODEL=${DETOXIFY_MODEL:-unbiased} \
    SMAT_OPERATIONS__LOG_FORMAT=json \
    SMAT_DATABASE_URL=sqlite:////var/lib/smat/smat-bot.db
USER smat
WORKDIR /var/lib/smat
EXPOSE 3000
ENTRYPOINT ["smat-bot"]
CMD ["run"]
