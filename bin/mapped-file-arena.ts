#!/usr/bin/env bun
/**
 * `bunx mapped-file-arena inspect FILE` / `verify FILE`: see lib/cli/cli.ts.
 * Only reads the file; never maps, resizes or creates anything.
 */
import { main } from "../lib/cli/cli.ts";

const result = await main(process.argv.slice(2));
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
process.exitCode = result.exitCode;
