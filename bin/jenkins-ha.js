#!/usr/bin/env node
// The CLI is written in TypeScript; tsx compiles it on the fly so that
// `npx jenkins-ha` works straight after `npm ci`, with no build step.
require("tsx/cjs");
const { main } = require("../automation/cli/main.ts");
main(process.argv).then((code) => process.exit(code));
