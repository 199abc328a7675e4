#!/usr/bin/env bun
/**
 * `bunx mapped-file-arena inspect|verify FILE`, `cas ... DIR`: see lib/cli/cli.ts.
 */
import { mainAsync } from "../lib/cli/cli.ts";

const result = await mainAsync(process.argv.slice(2));
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
process.exitCode = result.exitCode;
