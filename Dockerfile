# tailgate's container image: Debian bookworm, built in one stage, run from a second with only
# the runtime libraries, gnuplot (the charts) and a non-root user. `make image` builds and tags
# it; docs/ci.md says how to publish it.
#   docker run --rm -v "$PWD:/work" ghcr.io/OWNER/tailgate run --direct ci --out run

FROM debian:bookworm-slim AS build
RUN apt-get update -q \
    && apt-get install -y -q --no-install-recommends build-essential pkg-config \
        libevent-dev libcurl4-openssl-dev libcjson-dev libssl-dev libnghttp2-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# the revision comes from the build argument: the context has no .git
ARG REVISION=unknown
RUN make -j"$(nproc)" BUILD=build-image VERSION_REV="$REVISION" \
        PREFIX=/usr/local DESTDIR=/staging install

FROM debian:bookworm-slim
ARG REVISION=unknown
LABEL org.opencontainers.image.title="tailgate" \
      org.opencontainers.image.description="Checks that cancellation travels from a client through an LLM gateway to the model" \
      org.opencontainers.image.revision="$REVISION"
RUN apt-get update -q \
    && apt-get install -y -q --no-install-recommends libevent-2.1-7 libevent-openssl-2.1-7 \
        libssl3 libcurl4 libcjson1 libnghttp2-14 zlib1g \
        gnuplot-nox fonts-dejavu-core ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /staging/usr/local/ /usr/local/
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin tailgate \
    && mkdir /work && chown tailgate:tailgate /work
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["tailgate"]
CMD ["--help"]
