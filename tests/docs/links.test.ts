// Every relative link in README.md and docs/*.md points at a file that exists (and,
// with a #fragment, at a heading that exists in it), and at a file the npm package
// ships: the README and the docs are read on npm too, where a link into tests/ or
// bench/ would be dead. Cheap, and it catches rot when a document moves or a
// heading is reworded.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { documentationFiles, headingAnchors, linkTargets, readDocument, repositoryRoot } from "./markdown.ts";

const packageFiles: string[] = JSON.parse(readFileSync(join(repositoryRoot, "package.json"), "utf8")).files;

/** Whether package.json's "files" (folders or files, no globs here) covers a path. */
function shipped(relativePath: string): boolean {
  return packageFiles.some((entry) => relativePath === entry || relativePath.startsWith(`${entry}/`));
}

describe.each(documentationFiles())("%s", (document) => {
  const markdown = readDocument(document);
  const relativeLinks = linkTargets(markdown).filter((target) => !/^[a-z]+:/i.test(target));

  test("every relative link resolves to a shipped file, and every #fragment to a heading", () => {
    const broken: string[] = [];
    for (const target of relativeLinks) {
      const [pathPart, fragment] = target.split("#", 2) as [string, string | undefined];
      const resolved = pathPart === "" ? document : relative(repositoryRoot, normalize(join(repositoryRoot, dirname(document), pathPart)));
      const absolute = join(repositoryRoot, resolved);
      if (!existsSync(absolute)) {
        broken.push(`${target}: ${resolved} does not exist`);
        continue;
      }
      if (!shipped(resolved)) broken.push(`${target}: ${resolved} is not in package.json "files", so the link is dead on npm`);
      if (fragment !== undefined) {
        if (!statSync(absolute).isFile() || !resolved.endsWith(".md")) broken.push(`${target}: a #fragment on a file that is not Markdown`);
        else if (!headingAnchors(readFileSync(absolute, "utf8")).has(fragment)) broken.push(`${target}: no heading "#${fragment}" in ${resolved}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

test("docs/README.md lists every document in docs/", () => {
  const index = readDocument("docs/README.md");
  const listed = new Set(linkTargets(index).map((target) => target.split("#")[0]));
  const documents = documentationFiles().filter((file) => file.startsWith("docs/") && file !== "docs/README.md");
  expect(documents.filter((file) => !listed.has(file.slice("docs/".length)))).toEqual([]);
});

test("the link checker finds a broken link and a missing heading (it can fail)", () => {
  expect(linkTargets("see [a](missing.md) and `[not](code.md)`\n```\n[nor](fenced.md)\n```\n")).toEqual(["missing.md"]);
  expect(headingAnchors("# Health: `stats()` and the CLI\n## A\n## A\n")).toEqual(new Set(["health-stats-and-the-cli", "a", "a-1"]));
});

test("docs/performance.md holds the markers bench/run.ts writes its table between, once each", () => {
  const page = readDocument("docs/performance.md");
  for (const marker of ["<!-- bench-results:start -->", "<!-- bench-results:end -->"]) expect(page.split(marker).length).toBe(2);
  expect(readFileSync(join(repositoryRoot, "bench", "run.ts"), "utf8")).toContain('join(import.meta.dir, "..", "docs", "performance.md")');
});
