// Drive the Temporal Web UI (the dev server's, 2.54) in headless Debian Chromium through playwright-core,
// the way an operator clicks through it. No browser download: the Chromium is Debian's (scripts/setup.sh).
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Headless Chromium with a fresh profile; no background traffic (this machine reaches only loopback). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: run 'bash scripts/setup.sh' (installs Debian's chromium) or point CHROMIUM_PATH at one`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Where the screenshots go: artifacts/web-ui by default; `npm run screenshots` points it at docs/ for the README. */
export function screenshotPath(name: string): string {
  const dir = path.resolve(process.env.WEB_UI_SCREENSHOTS || path.join(__dirname, '..', '..', 'artifacts', 'web-ui'));
  mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

export class WebUi {
  constructor(readonly page: Page, readonly baseUrl: string, readonly namespace = 'default') {}

  /** Run `steps`; if they fail, keep what the browser showed (artifacts/web-ui/failure.png): the first thing to look at. */
  async screenshotOnFailure(steps: () => Promise<void>): Promise<void> {
    try {
      await steps();
    } catch (err) {
      await this.page.screenshot({ path: screenshotPath('failure.png') }).catch(() => undefined);
      throw err;
    }
  }

  /** Workflows page, then the query typed into its manual query box, as an operator does. */
  async search(query: string): Promise<void> {
    await this.page.goto(`${this.baseUrl}/namespaces/${this.namespace}/workflows`);
    await this.page.getByTestId('toggle-manual-query').click();
    const box = this.page.getByTestId('workflow-manual-search-input');
    await box.fill(query);
    await box.press('Enter');
    await this.page.waitForURL(/query=/);
  }

  /** The row of one workflow in the list (by its ID link); the list is reloaded until it shows up. */
  async waitForRow(workflowId: string, timeoutMs = 30_000): Promise<void> {
    const row = this.page.getByRole('row').filter({ has: this.page.getByRole('link', { name: workflowId, exact: true }) });
    const deadline = Date.now() + timeoutMs;
    while (!(await row.first().isVisible())) {
      if (Date.now() > deadline) throw new Error(`${workflowId} never appeared in the workflow list`);
      await this.page.waitForTimeout(1000);
      await this.page.reload();
      await this.page.getByRole('row').first().waitFor();
    }
  }

  async openWorkflow(workflowId: string): Promise<void> {
    await this.page.goto(`${this.baseUrl}/namespaces/${this.namespace}/workflows/${encodeURIComponent(workflowId)}`);
    await this.page.locator('h1', { hasText: workflowId }).first().waitFor();
    await this.page.getByRole('tab', { name: /Timeline/ }).first().waitFor();
  }

  /** More Actions → Send a Signal → pick the signal → optional JSON input → Submit; waits for the UI's confirmation. */
  async sendSignal(name: string, input?: unknown): Promise<void> {
    const { page } = this;
    await page.getByRole('button', { name: 'More Actions' }).click();
    await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
    const dialog = page.getByRole('dialog', { name: 'Send a Signal' });
    await dialog.getByTestId('signal-select-button').click();
    await dialog.getByRole('option', { name: new RegExp(`^${name}\\b`) }).click();
    if (input !== undefined) await dialog.getByRole('textbox', { name: 'Data' }).fill(JSON.stringify(input));
    await dialog.getByTestId('confirm-modal-button').click();
    await page.getByText('Workflow signaled.').first().waitFor();
  }

  /** What the page shows, including the sandboxed frames the UI renders markdown (summary, details) in. */
  async text(): Promise<string> {
    const parts = [await this.page.locator('main').innerText()];
    for (const frame of this.page.frames()) {
      if (frame !== this.page.mainFrame()) parts.push(await frame.locator('body').innerText().catch(() => ''));
    }
    return parts.join('\n');
  }

  /** The User Metadata tab (summary, current details), once it shows `ready`: the UI fills it in after a query. */
  async userMetadata(ready: RegExp, timeoutMs = 15_000): Promise<string> {
    await this.page.getByRole('tab', { name: 'User Metadata' }).click();
    const deadline = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < deadline) {
      text = await this.text();
      if (ready.test(text)) return text;
      await this.page.waitForTimeout(250);
    }
    throw new Error(`the User Metadata tab never showed ${ready}; it shows:\n${text}`);
  }
}
