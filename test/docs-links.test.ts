import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'), { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => `docs/${entry.name}`),
];
const read = (page: string) => readFileSync(join(root, page), 'utf8');

/** Markdown outside fenced code blocks and inline code spans. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of markdown.replace(/^```[\s\S]*?^```/gm, '').split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Every relative link target of a page: `[text](target)` and `![alt](target)`. */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe('documentation links', () => {
  it('finds the pages and their links (the checker itself works)', () => {
    expect(pages).toContain('README.md');
    expect(pages.length).toBeGreaterThan(8);
    expect(relativeLinks('see [a](docs/a.md#b) and ![p](x.png) but not [w](https://x.y) or `[c](d.md)`')).toEqual([
      'docs/a.md#b',
      'x.png',
    ]);
    expect(headingAnchors('# Days and time zones: what `dt` means\n## A\n## A\n```\n# not a heading\n```')).toEqual(
      new Set(['days-and-time-zones-what-dt-means', 'a', 'a-1']),
    );
  });

  it.each(pages)('every relative link in %s resolves to a file and, with #anchor, to a heading', (page) => {
    const broken: string[] = [];
    for (const link of relativeLinks(read(page))) {
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path === '' ? join(root, page) : resolve(dirname(join(root, page)), decodeURI(path));
      if (!existsSync(target)) {
        broken.push(`${link}: no file ${relative(root, target)}`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!statSync(target).isFile() || !target.endsWith('.md')) {
        broken.push(`${link}: an #anchor into a file that is not Markdown`);
        continue;
      }
      if (!headingAnchors(readFileSync(target, 'utf8')).has(anchor)) broken.push(`${link}: no heading #${anchor}`);
    }
    expect(broken).toEqual([]);
  });
});

describe('README is a page', () => {
  const readme = read('README.md');
  const lines = readme.split('\n');

  it('is at most 300 lines, with the two commands in its first screen', () => {
    expect(lines.length).toBeLessThanOrEqual(300);
    const firstScreen = lines.slice(0, 25).join('\n');
    expect(firstScreen).toContain('npm ci && npm run demo');
    expect(firstScreen).toContain('npm ci && npm test');
    expect(readme).toContain('](docs/report-screenshot.png)');
  });

  it('links every docs/ page, including the runbook and reliability pages', () => {
    const linked = new Set(relativeLinks(readme).map((link) => link.split('#')[0]));
    for (const page of pages.filter((p) => p !== 'README.md')) expect(linked, page).toContain(page);
    expect(linked).toContain('docs/runbook.md');
    expect(linked).toContain('docs/reliability.md');
  });

  it('has a LICENSE that is the license package.json names', () => {
    const pkg = JSON.parse(read('package.json')) as { license: string; engines: { node: string } };
    expect(pkg.license).toBe('MIT');
    expect(read('LICENSE')).toMatch(/^MIT License\n/);
    expect(readme).toContain('](LICENSE)');
  });

  it('approves the install script of every package in the lockfile that has one (npm ci asks about no other)', () => {
    const pkg = JSON.parse(read('package.json')) as { allowScripts?: Record<string, boolean> };
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    expect(withScripts.length).toBeGreaterThan(0);
    for (const name of withScripts) expect(pkg.allowScripts?.[name], name).toBe(true);
  });

  it('states the Node version package.json engines asks for', () => {
    const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
    const minimum = /^>=(\d+\.\d+)$/.exec(pkg.engines.node)?.[1];
    expect(minimum, pkg.engines.node).toBeDefined();
    expect(readme).toContain(`Node.js ≥ ${minimum}`);
    expect(read('docs/development.md')).toContain(`Node ≥ ${minimum}`);
  });
});
