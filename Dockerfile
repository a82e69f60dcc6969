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
# Production-safe: no development flag. `serve` refuses to start until the SMS gateway
# (JEMPUT__SMS__PROVIDER=twilio, …) and the token secret (JEMPUT__AUTH__JWT_SECRET or
# JEMPUT__AUTH__JWT_SECRET_FILE) are set; the README's "Running in production" lists them.
ENV JEMPUT__SERVER__HOST=0.0.0.0 \
    JEMPUT__SERVER__PORT=8080 \
    JEMPUT__LOG__FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/jemput", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/jemput"]
CMD ["serve"]
