#!/usr/bin/env bun
/**
 * `bunx mapped-file-arena inspect|verify FILE`, `cas ... DIR`, `log cat FILE`: see lib/cli/cli.ts.
 */
import { mainAsync } from "../lib/cli/cli.ts";
import { processStreams } from "../lib/cli/process-streams.ts";

const result = await mainAsync(process.argv.slice(2), processStreams());
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
process.exitCode = result.exitCode;
