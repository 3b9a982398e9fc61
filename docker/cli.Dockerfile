# The jenkins-ha CLI as an image: the healer and the scheduled backup jobs run it.
# Built by the program from this repository (components/cli-image.ts); nothing else in it.
FROM node:20-bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends socat ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/jenkins-ha
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY config ./config
COPY render ./render
COPY automation ./automation
COPY components ./components
COPY program.ts index.ts Pulumi.yaml tsconfig.json ./

USER node
ENTRYPOINT ["node", "/opt/jenkins-ha/bin/jenkins-ha.js"]
