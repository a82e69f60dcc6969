# Multi-stage build: compile in the Rust image, run in a slim Debian with only libpq.
FROM rust:1.95-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin jemput

FROM debian:bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/jemput --create-home jemput
COPY --from=build /src/target/release/jemput /usr/local/bin/jemput
USER jemput
WORKDIR /var/lib/jemput
ENV JEMPUT__SERVER__HOST=0.0.0.0 \
    JEMPUT__SERVER__PORT=8080 \
    JEMPUT__LOG__FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/jemput", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/jemput"]
CMD ["serve"]
