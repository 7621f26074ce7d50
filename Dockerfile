# Multi-stage build of the Mentorat API. Dependencies are compiled in a layer of their own
# (cargo-chef: the recipe holds only the manifests and the lock file), so a change to the code
# rebuilds only the workspace's crates; a change to Cargo.lock rebuilds the dependencies.
#
#   docker build -t mentorat .
FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

# The recipe: the workspace's manifests, nothing of its code.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
# Cached until a manifest or the lock file changes.
RUN cargo chef cook --release --locked -p mentorat --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked -p mentorat

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/mentorat --create-home mentorat
COPY --from=build /src/target/release/mentorat /usr/local/bin/mentorat
USER mentorat
WORKDIR /var/lib/mentorat
ENV MENTORAT_BIND=0.0.0.0:8080 \
    MENTORAT_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["mentorat"]
CMD ["serve"]
