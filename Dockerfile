# syntax=docker/dockerfile:1

# Node 24 is the LTS line supported longest (maintenance until April 2028; Node 22's ends April 2027,
# Node 20's ended April 2026). The code also runs on Node 20.19+ (package.json engines), which CI tests.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: install everything, compile TypeScript to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# The client package is an npm workspace the server imports: npm ci needs its package.json.
COPY package.json package-lock.json ./
COPY packages/client/package.json ./packages/client/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# ---- runtime: production dependencies and the compiled output only ----
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    ONY_HOST=0.0.0.0 \
    ONY_PORT=8080 \
    ONY_DATA_DIR=/data
WORKDIR /app
# pg_dump/pg_restore for `ony backup` (docs/backups.md); bookworm's client is 15, as the server.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY packages/client/package.json ./packages/client/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/packages/client/dist ./packages/client/dist
COPY --from=build /app/migrations ./migrations
COPY LICENSE ./
# /data holds the PGlite database and master.key in embedded mode (no DATABASE_URL);
# /backups is where docker-compose's backup service writes archives and the erasure ledger.
RUN mkdir -p /data /backups && chown node:node /data /backups
VOLUME ["/data"]
USER node
EXPOSE 8080
# No curl in the slim image: node does the GET itself.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "require('http').get({host:'127.0.0.1',port:process.env.ONY_PORT||8080,path:'/healthz',timeout:4000},r=>process.exit(r.statusCode===200?0:1)).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1))"]
ENTRYPOINT ["node", "--enable-source-maps", "dist/main.js"]
CMD ["serve"]
