# syntax=docker/dockerfile:1
# One build, three images:  docker build --target api|mailer|webhooks .  (the API image also runs the bounce listener)
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/runtime/package.json packages/runtime/
COPY packages/ledger/package.json packages/ledger/
COPY packages/stack/package.json packages/stack/
COPY packages/cli/package.json packages/cli/
COPY services/api/package.json services/api/
COPY services/mailer/package.json services/mailer/
COPY services/webhooks/package.json services/webhooks/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY packages packages
COPY services services
COPY scripts scripts
RUN npx tsc -b \
 && node scripts/build-artifact.mjs api /out/api \
 && node scripts/build-artifact.mjs mailer /out/mailer \
 && node scripts/build-artifact.mjs webhooks /out/webhooks

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
USER node

FROM runtime AS api
COPY --from=build --chown=node:node /out/api /app
ENV PORT=3000 HOST=0.0.0.0 SUBMISSION_PORT=587
# The heap each service runs with everywhere (packages/stack/src/node-options.ts; test/packaging checks they agree):
# its bounds in NODE_OPTIONS, so that any node process of the image has them, and in CMD the flags Node refuses there.
ENV NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=128"
# 2525: the bounce listener, when run as `node services/api/dist/bounce-server.js` (compose, k8s).
EXPOSE 3000 587 2525
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--heap-growing-percent=60", "services/api/dist/server.js"]

FROM runtime AS mailer
COPY --from=build --chown=node:node /out/mailer /app
ENV METRICS_PORT=9464 METRICS_HOST=0.0.0.0
ENV NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=256"
EXPOSE 9464
# SIGTERM drains in-flight sends; give it longer than SHUTDOWN_TIMEOUT_MS (compose: stop_grace_period).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--heap-growing-percent=60", "services/mailer/dist/server.js"]

FROM runtime AS webhooks
COPY --from=build --chown=node:node /out/webhooks /app
ENV METRICS_PORT=9465 METRICS_HOST=0.0.0.0
ENV NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=256"
EXPOSE 9465
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9465)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "services/webhooks/dist/server.js"]
