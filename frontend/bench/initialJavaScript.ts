/**
 * The JavaScript the index page loads before any lazy chunk: the module scripts and
 * modulepreload links of the built index.html, each gzipped with zlib at its default level (6,
 * as Vite's build report and a compressing proxy use it). Sizes in kB of 1,000 bytes.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export interface InitialScript {
  /** The path the page requests, e.g. `/assets/index-BOXBCILN.js`. */
  url: string;
  bytes: number;
  gzipBytes: number;
}

export interface InitialJavaScript {
  scripts: InitialScript[];
  bytes: number;
  gzipBytes: number;
}

const scriptSource = /<script\b[^>]*\btype="module"[^>]*\bsrc="([^"]+)"/g;
const modulePreload = /<link\b[^>]*\brel="modulepreload"[^>]*\bhref="([^"]+)"/g;

export async function measureInitialJavaScript(distDir: string): Promise<InitialJavaScript> {
  const html = await readFile(path.join(distDir, 'index.html'), 'utf8');
  const urls = [
    ...new Set([...html.matchAll(scriptSource), ...html.matchAll(modulePreload)].map(urlOf)),
  ];
  if (urls.length === 0) throw new Error(`${distDir}/index.html loads no module script`);
  const scripts: InitialScript[] = [];
  for (const url of urls) {
    if (/^[a-z]+:\/\//i.test(url)) throw new Error(`index.html loads a script from ${url}`);
    const content = await readFile(path.join(distDir, url.replace(/^\//, '')));
    scripts.push({ url, bytes: content.length, gzipBytes: gzipSync(content).length });
  }
  return {
    scripts,
    bytes: scripts.reduce((sum, script) => sum + script.bytes, 0),
    gzipBytes: scripts.reduce((sum, script) => sum + script.gzipBytes, 0),
  };
}

function urlOf(match: RegExpMatchArray): string {
  return match[1] as string;
}
