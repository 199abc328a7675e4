// Reading the project's Markdown for the documentation tests: which files, their
// links, their headings' anchors, and their code blocks. Only what the tests need,
// in GitHub's dialect; text inside code (fenced blocks and `spans`) is not a link.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const repositoryRoot = join(import.meta.dir, "..", "..");

/** README.md and every docs/*.md, as paths relative to the repository root. */
export function documentationFiles(): string[] {
  const docs = readdirSync(join(repositoryRoot, "docs")).filter((name) => name.endsWith(".md"));
  return ["README.md", ...docs.sort().map((name) => `docs/${name}`)];
}

export function readDocument(relativePath: string): string {
  return readFileSync(join(repositoryRoot, relativePath), "utf8");
}

/** The lines that are prose: outside fenced code blocks, with inline code removed. */
function proseLines(markdown: string): string[] {
  const lines: string[] = [];
  let inFence = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (!inFence) lines.push(line.replace(/`[^`]*`/g, ""));
  }
  return lines;
}

/** Every link target: `[text](target)`, images included, HTML comments excluded. */
export function linkTargets(markdown: string): string[] {
  const prose = proseLines(markdown).join("\n").replace(/<!--[\s\S]*?-->/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
}

/** The anchors GitHub makes for a document's headings (lower case, punctuation dropped, "-1" for repeats). */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const repeats = seen.get(base) ?? 0;
    seen.set(base, repeats + 1);
    anchors.add(repeats === 0 ? base : `${base}-${repeats}`);
  }
  return anchors;
}

/** The bodies of the fenced code blocks of one language (```ts). */
export function codeBlocks(markdown: string, language: string): string[] {
  const pattern = new RegExp("^```" + language + "\\n([\\s\\S]*?)^```", "gm");
  return [...markdown.matchAll(pattern)].map((match) => match[1]!);
}
