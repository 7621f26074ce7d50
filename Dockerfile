# Multi-stage build of the Mentorat API.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p mentorat

FROM debian:bookworm-slim
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
