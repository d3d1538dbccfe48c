/**
 * Page loads in headless chromium, timed in the page itself.
 *
 * "Interactive", precisely: from navigation start (the document's performance.timeOrigin) until
 * the page's data is on screen AND the page has answered a real key press sent right after it:
 *
 * 1. ready: a MutationObserver installed before any script of the page runs sees the page's
 *    first data row in the DOM (jobs: the first row of the Jobs table; runs: the first row of
 *    the Runs table's body; empty page: the "Not found" heading); `ready` is the start of the
 *    next animation frame, the frame that paints it. The page's filter input (Search on the jobs
 *    page, "Output contains" on the runs page) is focused at that moment.
 * 2. Playwright then presses "x" through the DevTools protocol (real input, queued behind
 *    whatever the main thread is still doing); `interactive` is the start of the first animation
 *    frame after the page's keydown handler ran, the frame that paints the typed character (the
 *    filter's controlled input re-renders synchronously for a discrete event). The bench checks
 *    that the character arrived in the input.
 *
 * So `interactive` = ready + the time to deliver and answer one input; the gap includes a few ms
 * of DevTools round trip, which is conservative. The page's API call is read from Resource
 * Timing for the breakdown.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { MeasuredPage } from './frontendBenchConfig.js';
import { benchAdmin } from './dashboardBenchData.js';

export interface PageSpec {
  page: MeasuredPage;
  path: string;
  /** The element whose appearance means the page's data is rendered. */
  readySelector: string;
  /** ...and whose text is this, when given. */
  readyText?: string;
  /** The input that gets the key press (none: the document body). */
  inputSelector?: string;
  /** The API route whose response the page renders, for the breakdown. */
  apiPath?: string;
}

export const pageSpecs: Record<MeasuredPage, PageSpec> = {
  empty: {
    page: 'empty',
    path: '/no-such-page',
    readySelector: 'h1',
    readyText: 'Not found',
  },
  jobs: {
    page: 'jobs',
    path: '/jobs',
    readySelector: '[role="table"][aria-label="Jobs"] [role="row"][aria-rowindex="2"]',
    inputSelector: 'form[aria-label="Filter jobs"] input[name="q"]',
    apiPath: '/api/v1/jobs',
  },
  runs: {
    page: 'runs',
    path: '/runs',
    readySelector: 'table[aria-label="Runs"] tbody tr',
    inputSelector: 'form[aria-label="Filter runs"] input[name="q"]',
    apiPath: '/api/v1/runs',
  },
};

export interface PageLoad {
  page: MeasuredPage;
  cold: boolean;
  /** ms from navigation start. */
  readyMs: number;
  interactiveMs: number;
  /** The page's API call: when it started and when its response had arrived (ms). */
  apiStartMs?: number;
  apiEndMs?: number;
  /** Its response body, decoded (bytes). */
  apiBytes?: number;
  /** The HTML document and the page's scripts have arrived (ms). */
  documentEndMs: number;
  scriptsEndMs: number;
  /** Bytes of the scripts that came over the network (0: all from the HTTP cache). */
  scriptsTransferBytes: number;
  /** DOMContentLoaded: the scripts have been evaluated too (ms). */
  domContentLoadedMs: number;
}

/** Marks kept by the init script on `window.__cronfleetBench`. */
interface BenchMarks {
  readyAt?: number;
  keyAt?: number;
  answeredAt?: number;
}

/**
 * Installed in every document before its scripts: watches for the ready element and times the
 * first key press. Plain JavaScript text, not a function: tsx's name helpers (`__name`) do not
 * exist in the page.
 */
function probeScript(spec: PageSpec): string {
  const settings = JSON.stringify({
    readySelector: spec.readySelector,
    readyText: spec.readyText ?? null,
    inputSelector: spec.inputSelector ?? null,
  });
  return `(() => {
  const spec = ${settings};
  const marks = {};
  window.__cronfleetBench = marks;
  const isReady = () => [...document.querySelectorAll(spec.readySelector)].some(
    (element) => spec.readyText === null || element.textContent === spec.readyText);
  const observer = new MutationObserver(() => {
    if (!isReady()) return;
    observer.disconnect();
    if (spec.inputSelector !== null) document.querySelector(spec.inputSelector)?.focus();
    requestAnimationFrame(() => { marks.readyAt = performance.now(); });
  });
  observer.observe(document, { childList: true, subtree: true, characterData: true });
  window.addEventListener('keydown', () => {
    if (marks.keyAt !== undefined) return;
    marks.keyAt = performance.now();
    requestAnimationFrame(() => { marks.answeredAt = performance.now(); });
  }, true);
})();`;
}

/** Signs in once; the contexts measured later start from this session cookie. */
export async function signInState(browser: Browser, baseUrl: string) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${baseUrl}/sign-in`);
    await page.getByLabel('E-mail').fill(benchAdmin.email);
    await page.getByLabel('Password').fill(benchAdmin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor({ timeout: 60_000 });
    return await context.storageState();
  } finally {
    await context.close();
  }
}

export type SessionState = Awaited<ReturnType<typeof signInState>>;

export async function newMeasuredContext(
  browser: Browser,
  state: SessionState,
): Promise<BrowserContext> {
  return browser.newContext({ storageState: state, viewport: { width: 1400, height: 900 } });
}

const loadTimeoutMs = 120_000;

/**
 * One load of `spec` in `page`: from about:blank, so each load is a new document with its own
 * time origin; the HTTP cache is the context's (empty in a new context: a cold load).
 */
export async function loadPage(
  page: Page,
  baseUrl: string,
  spec: PageSpec,
  cold: boolean,
): Promise<PageLoad> {
  await page.goto('about:blank');
  // One probe per load: each page spec watches for its own element.
  const probe = await page.addInitScript({ content: probeScript(spec) });
  try {
    await page.goto(`${baseUrl}${spec.path}`, { waitUntil: 'commit', timeout: loadTimeoutMs });
    await page.waitForFunction(
      () =>
        (window as unknown as { __cronfleetBench?: BenchMarks }).__cronfleetBench?.readyAt !==
        undefined,
      undefined,
      { polling: 'raf', timeout: loadTimeoutMs },
    );
    await page.keyboard.press('x');
    await page.waitForFunction(
      () =>
        (window as unknown as { __cronfleetBench?: BenchMarks }).__cronfleetBench?.answeredAt !==
        undefined,
      undefined,
      { polling: 'raf', timeout: loadTimeoutMs },
    );
    if (spec.inputSelector !== undefined) {
      const typed = await page.locator(spec.inputSelector).inputValue();
      if (typed !== 'x') {
        throw new Error(
          `${spec.path}: the key press did not reach the filter (it holds "${typed}")`,
        );
      }
    }
    const figures = await page.evaluate((apiPath) => {
      const marks = (window as unknown as { __cronfleetBench: BenchMarks }).__cronfleetBench;
      const [navigation] = performance.getEntriesByType(
        'navigation',
      ) as PerformanceNavigationTiming[];
      const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
      const api =
        apiPath === undefined
          ? undefined
          : resources.find((entry) => new URL(entry.name).pathname === apiPath);
      const scripts = resources.filter((entry) => new URL(entry.name).pathname.endsWith('.js'));
      return {
        readyMs: marks.readyAt ?? Number.NaN,
        interactiveMs: marks.answeredAt ?? Number.NaN,
        domContentLoadedMs: navigation?.domContentLoadedEventEnd ?? Number.NaN,
        documentEndMs: navigation?.responseEnd ?? Number.NaN,
        scriptsEndMs: Math.max(0, ...scripts.map((entry) => entry.responseEnd)),
        scriptsTransferBytes: scripts.reduce((sum, entry) => sum + entry.transferSize, 0),
        api:
          api === undefined
            ? undefined
            : { start: api.startTime, end: api.responseEnd, bytes: api.decodedBodySize },
      };
    }, spec.apiPath);
    return {
      page: spec.page,
      cold,
      readyMs: figures.readyMs,
      interactiveMs: figures.interactiveMs,
      domContentLoadedMs: figures.domContentLoadedMs,
      documentEndMs: figures.documentEndMs,
      scriptsEndMs: figures.scriptsEndMs,
      scriptsTransferBytes: figures.scriptsTransferBytes,
      ...(figures.api === undefined
        ? {}
        : {
            apiStartMs: figures.api.start,
            apiEndMs: figures.api.end,
            apiBytes: figures.api.bytes,
          }),
    };
  } finally {
    await probe.dispose();
  }
}
