# syntax=docker/dockerfile:1
# The one Weft image. Its entrypoint takes the process to run first:
#   weft operator | control-plane | proxy | weft-init | weftctl  [flags]
# The Deployments and the sidecar injector pass it as the first argument (cdk8s/, webhooks/injection/).
# Build: docker build -t ghcr.io/weft-dev/weft:v0.1.0 .   (the tag the manifests use for release 0.1.0)

ARG NODE_VERSION=20

# Build: the TypeScript to dist/ (and the proxy bundled into dist/proxy/weft-proxy.mjs), and the
# SO_ORIGINAL_DST addon the proxy reads captured connections' destinations with (node-gyp; the full
# image has python3, make and g++), copied where both dist/proxy/original-dst/ and the bundle find it.
FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /src
# node-gyp compiles against the headers shipped with this Node rather than downloading them.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY operator operator
COPY controllers controllers
COPY webhooks webhooks
COPY cdk8s cdk8s
COPY crds crds
COPY proxy proxy
COPY weftctl weftctl
RUN npm run build \
  && npm run build:native \
  && mkdir -p dist/proxy/original-dst/build/Release \
  && cp proxy/original-dst/build/Release/original_dst.node dist/proxy/original-dst/build/Release/ \
  && npm prune --omit=dev --no-audit --no-fund

# Runtime: Node and production dependencies only; no compiler, no sources, no npm cache.
FROM node:${NODE_VERSION}-bookworm-slim
# weft-init (the pod's init container) installs the capture rules with iptables-restore.
RUN apt-get update \
  && apt-get install -y --no-install-recommends iptables \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
# weftctl reads the CRDs and their schemas (manifest generate, analyze) from here.
COPY --from=build /src/crds/generated crds/generated
COPY bin/weft.js bin/weftctl.js bin/
# Non-root by default, as the proxy's UID: traffic capture lets UID 1337's own connections through.
# weft-init alone runs as root, which its container's securityContext asks for.
USER 1337:1337
ENTRYPOINT ["node", "/app/bin/weft.js"]
