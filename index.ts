import * as pulumi from "@pulumi/pulumi";
import { ConfigValidationError } from "./config/problems";
import { program } from "./program";

// The stack outputs: per team colours/URLs/ports/image, HAProxy endpoints, monitoring
// targets and URLs, secrets.
function run() {
  try {
    return program({ projectDir: __dirname }).outputs;
  } catch (err) {
    // One readable report instead of a stack trace; nothing has been declared yet.
    if (err instanceof ConfigValidationError) throw new pulumi.RunError(err.message);
    throw err;
  }
}

export = run();
