// Page objects: what a user does, in the accessible names the UI promises.
import { expect, type Locator, type Page } from '@playwright/test';

export class DashboardsList {
  constructor(private page: Page) {}

  async open() {
    await this.page.getByRole('link', { name: 'Dashboards' }).click();
    await expect(this.page.getByRole('button', { name: 'New dashboard' })).toBeVisible();
  }

  async create(name: string) {
    await this.page.getByRole('button', { name: 'New dashboard' }).click();
    await this.page.getByRole('dialog').getByLabel('Name').fill(name);
    await this.page.getByRole('button', { name: 'Create' }).click();
    await expect(this.page.getByRole('heading', { name })).toBeVisible();
  }
}

export interface PanelSpec {
  title: string;
  type: 'line' | 'area' | 'bar' | 'gauge' | 'stat';
  metric: string;
  aggregation?: string;
  step?: string;
  groupBy?: string[];
  calculation?: string;
  tag?: [string, string];
}

export class DashboardView {
  constructor(private page: Page) {}

  panel(title: string): Locator {
    return this.page.getByRole('region', { name: title, exact: true });
  }

  async edit() {
    // Edit mode stays on after the panel editor returns.
    await expect(this.page.getByRole('button', { name: /^(Edit|Add panel)$/ }).first()).toBeVisible();
    if (await this.page.getByRole('button', { name: 'Add panel' }).isVisible()) return;
    await this.page.getByRole('button', { name: 'Edit', exact: true }).click();
    await expect(this.page.getByRole('button', { name: 'Add panel' })).toBeVisible();
    // The drag-and-resize grid is fetched on first use and then replaces the static
    // one, mounting the panels anew: a panel measured before that has gone.
    await expect(this.page.locator('.react-grid-layout')).toBeAttached();
  }

  /** The panel's box once it has one (it has none while the grid swaps). */
  async box(title: string): Promise<{ x: number; y: number; width: number; height: number }> {
    let found: { x: number; y: number; width: number; height: number } | null = null;
    await expect.poll(async () => (found = await this.panel(title).boundingBox()) !== null).toBe(true);
    return found!;
  }

  async addPanel(spec: PanelSpec) {
    await this.page.getByRole('button', { name: 'Add panel' }).click();
    const editor = new PanelEditor(this.page);
    await editor.fill(spec);
    await editor.save();
    await expect(this.panel(spec.title)).toBeVisible();
  }

  async waitPainted(title: string) {
    await expect(this.panel(title)).toHaveAttribute('data-state', 'painted');
  }

  async chooseRange(label: string) {
    await this.page.getByRole('button', { name: 'Time range' }).click();
    await this.page.getByRole('option', { name: label }).click();
  }

  async chooseRefresh(label: string) {
    await this.page.getByRole('button', { name: 'Refresh interval' }).click();
    await this.page.getByRole('option', { name: label, exact: true }).click();
  }

  legendCell(title: string, series: string, stat: 'min' | 'max' | 'mean' | 'last'): Locator {
    return this.panel(title).locator(`tr[data-series="${series}"] td[data-stat="${stat}"]`);
  }
}

export class PanelEditor {
  constructor(private page: Page) {}

  async fill(spec: PanelSpec) {
    const p = this.page;
    await p.getByLabel('Title', { exact: true }).fill(spec.title);
    await p.getByLabel('Panel type').selectOption(spec.type);
    await p.getByLabel('Metric', { exact: true }).fill(spec.metric);
    await p.getByLabel('Aggregation').selectOption(spec.aggregation ?? 'avg');
    await p.getByLabel('Step', { exact: true }).fill(spec.step ?? '');
    if (spec.tag) {
      await p.getByRole('button', { name: 'Add tag filter' }).click();
      await p.getByLabel('Tag key 1').selectOption(spec.tag[0]);
      await p.getByLabel('Tag value 1').fill(spec.tag[1]);
    }
    if (spec.groupBy) await p.getByLabel('Group by').selectOption(spec.groupBy);
    if (spec.calculation) await p.getByLabel('Calculation').selectOption(spec.calculation);
  }

  async save() {
    await this.page.getByRole('button', { name: 'Save panel' }).click();
  }
}

export class AlertsList {
  constructor(private page: Page) {}

  row(name: string): Locator {
    return this.page.getByTestId('rule-row').filter({ has: this.page.getByRole('link', { name, exact: true }) });
  }
}
