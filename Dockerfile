# syntax=docker/dockerfile:1
# One image, two entry points (docs/guides/docker.md):
#   the runtime   ENTRYPOINT ["node", "runtime/bin/cra.js"]   e.g.  docker run … cra serve --atlases atlases
#   the operator  command: ["node", "operator/bin/cra-operator.js"]   (the Helm chart sets it)
# Production dependencies only, non-root (uid 10001), nothing written outside /tmp and the data
# volume /var/lib/cra, so it runs with readOnlyRootFilesystem. e2e/test/image-layout.test.ts
# reproduces the prod-deps and final stages without Docker and starts both entry points.
#
#   docker build -t ghcr.io/cra-dev/cra:1.0.0 .

# Pinned by tag; pin by digest too for reproducible builds (--build-arg NODE_IMAGE=node:24.21.0-slim@sha256:…).
ARG NODE_IMAGE=node:24.21.0-slim

# ---- deps: every workspace's dependencies, dev included, from the lock file ----------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
COPY core/package.json core/
COPY runtime/package.json runtime/
COPY operator/package.json operator/
COPY e2e/package.json e2e/
COPY bench/package.json bench/
RUN npm ci --no-audit --no-fund

# ---- build: TypeScript → core/dist, runtime/dist, operator/dist ----------------------------------
FROM deps AS build
COPY tsconfig.base.json tsconfig.json ./
COPY core core
COPY runtime runtime
COPY operator operator
RUN npx tsc -b

# ---- prod-deps: production dependencies of the three shipped workspaces only ----------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY core/package.json core/
COPY runtime/package.json runtime/
COPY operator/package.json operator/
RUN npm ci --omit=dev --no-audit --no-fund --workspace core --workspace runtime --workspace operator \
  && npm cache clean --force

# ---- the image ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="cra" \
  org.opencontainers.image.description="CRA: the governance layer for AI agents (runtime and operator)" \
  org.opencontainers.image.source="https://github.com/cra-dev/cra" \
  org.opencontainers.image.licenses="Apache-2.0" \
  org.opencontainers.image.version="1.0.0"
ENV NODE_ENV=production \
  CRA_DATA_DIR=/var/lib/cra \
  HOME=/tmp
RUN groupadd --system --gid 10001 cra \
  && useradd --system --uid 10001 --gid cra --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin cra \
  && mkdir -p /var/lib/cra \
  && chown 10001:10001 /var/lib/cra
WORKDIR /app
COPY --from=prod-deps /app ./
COPY --from=build /src/core/dist core/dist
COPY --from=build /src/runtime/dist runtime/dist
COPY --from=build /src/operator/dist operator/dist
COPY runtime/bin runtime/bin
COPY runtime/openapi.json runtime/
COPY operator/bin operator/bin
COPY atlases atlases
USER 10001:10001
VOLUME ["/var/lib/cra"]
EXPOSE 8080 8081
ENTRYPOINT ["node", "runtime/bin/cra.js"]
CMD ["serve"]
