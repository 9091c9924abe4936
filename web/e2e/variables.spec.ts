import { test, expect } from './fixtures';
import { DashboardView, PanelEditor } from './pages';
import { ADMIN, Api } from './server';
import { CPU, expected } from './seed';

test('a variable defined in the settings drives a panel’s tag filter', async ({ loggedIn: page, expectHttpError }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const { data } = await api.call<{ data: { id: string } }>('POST', '/api/v1/dashboards', { name: 'Variable editor', panels: [] });
  await page.goto(`/d/${data.id}?from=now-6h&to=now`);
  const view = new DashboardView(page);
  await view.edit();
  await page.getByRole('button', { name: 'Settings' }).click();
  const dialog = page.getByRole('dialog', { name: 'Dashboard settings' });
  await dialog.getByRole('button', { name: 'Add variable' }).click();
  const row = dialog.getByRole('group', { name: 'Variable 1' });

  // The form's own check: a name the server would refuse.
  await row.getByLabel('Name').fill('1host');
  await row.getByLabel('Metric').fill(CPU);
  await row.getByLabel('Tag key').selectOption('host');
  await dialog.getByRole('button', { name: 'Save settings' }).click();
  await expect(row.locator('.field-error')).toContainText('must match');

  // The server's check, shown next to the field it names.
  expectHttpError(400, /\/api\/v1\/dashboards\/[^/]+$/);
  await row.getByLabel('Name').fill('host');
  await row.getByLabel('Label', { exact: true }).fill('x'.repeat(201));
  await dialog.getByRole('button', { name: 'Save settings' }).click();
  await expect(row.getByText('must be 1 to 200 characters')).toBeVisible();

  await row.getByLabel('Label', { exact: true }).fill('Host');
  await expect(row.locator('.field-error')).toHaveCount(0); // an edited field's error goes
  await page.screenshot({ path: `${import.meta.dirname}/../../docs/screenshots/dashboard-variables.png` });
  await dialog.getByRole('button', { name: 'Save settings' }).click();
  await expect(dialog).toBeHidden();
  const stored = await api.call<{ data: { variables: unknown[] } }>('GET', `/api/v1/dashboards/${data.id}`);
  expect(stored.data.variables).toEqual([expect.objectContaining({ name: 'host', label: 'Host', metric: CPU, tagKey: 'host', multi: false, includeAll: true })]);

  // A panel filtered by `$host`.
  await view.edit();
  await page.getByRole('button', { name: 'Add panel' }).click();
  const editor = new PanelEditor(page);
  await editor.fill({ title: 'Host max', type: 'stat', metric: CPU, step: '1m', calculation: 'max', aggregation: 'max', tag: ['host', '$host'] });
  await editor.save();
  await view.waitPainted('Host max');

  const picker = page.getByLabel('Host', { exact: true });
  const both = Math.max(expected('web-1').max, expected('web-2').max);
  await expect(view.panel('Host max').getByTestId('value')).toHaveText(String(both));
  await picker.selectOption('web-1');
  await expect(page).toHaveURL(/var-host=web-1/);
  await expect(view.panel('Host max').getByTestId('value')).toHaveText(String(expected('web-1').max));
  await picker.selectOption('web-2');
  await expect(view.panel('Host max').getByTestId('value')).toHaveText(String(expected('web-2').max));

  // Removing the variable in the settings removes its picker.
  await page.getByRole('button', { name: 'Settings' }).click();
  await dialog.getByRole('button', { name: 'Remove variable 1' }).click();
  await dialog.getByRole('button', { name: 'Save settings' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByLabel('Host', { exact: true })).toHaveCount(0);
});

test('the settings set how a dashboard opens: default range, refresh and time zone', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const { data } = await api.call<{ data: { id: string } }>('POST', '/api/v1/dashboards', { name: 'Opening', panels: [] });
  await page.goto(`/d/${data.id}`);
  const view = new DashboardView(page);
  await view.edit();
  await page.getByRole('button', { name: 'Settings' }).click();
  const dialog = page.getByRole('dialog', { name: 'Dashboard settings' });
  await dialog.getByLabel('Default from').fill('yesterday');
  await dialog.getByRole('button', { name: 'Save settings' }).click();
  await expect(dialog.getByText('"yesterday" is not a time')).toBeVisible();
  await dialog.getByLabel('Default from').fill('now-3h');
  await dialog.getByLabel('Default refresh').selectOption('30s');
  await dialog.getByLabel('Default time zone').selectOption('utc');
  await dialog.getByRole('button', { name: 'Save settings' }).click();
  await expect(dialog).toBeHidden();
  const stored = await api.call<{ data: { settings: unknown } }>('GET', `/api/v1/dashboards/${data.id}`);
  expect(stored.data.settings).toEqual(expect.objectContaining({ timeRange: { from: 'now-3h', to: 'now' }, refresh: '30s', timeZone: 'utc' }));

  // A link without its own range, refresh or zone opens with the dashboard's.
  await page.goto(`/d/${data.id}`);
  await expect(page.getByRole('button', { name: 'Time range' })).toContainText('Last 3 hours');
  await expect(page.getByRole('button', { name: 'Refresh interval' })).toContainText('30s');
  await expect(page.getByRole('button', { name: 'Time zone' })).toHaveText('UTC');
});

test('a dashboard set to an IANA zone shows its times in that zone, with the UTC toggle', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const { data } = await api.call<{ data: { id: string } }>('POST', '/api/v1/dashboards', { name: 'New York', panels: [], settings: { timeZone: 'America/New_York' } });
  // 15:00 UTC on 1 December is 10:00 in New York (EST) and midnight in Tokyo, the
  // browser's zone in these tests.
  const from = Date.UTC(2026, 11, 1, 15);
  await page.goto(`/d/${data.id}?from=${from}&to=${from + 3_600_000}`);
  const zone = page.getByRole('button', { name: 'Time zone' });
  const range = page.getByRole('button', { name: 'Time range' });
  await expect(zone).toHaveText('America/New_York');
  await expect(range).toHaveText('2026-12-01 10:00:00 to 2026-12-01 11:00:00 (America/New_York)');
  await zone.click();
  await expect(zone).toHaveText('UTC');
  await expect(page).toHaveURL(/[?&]tz=utc/);
  await expect(range).toHaveText('2026-12-01 15:00:00 to 2026-12-01 16:00:00 (UTC)');
  // Back to the dashboard's own zone, not the browser's.
  await zone.click();
  await expect(zone).toHaveText('America/New_York');
  await expect(page).not.toHaveURL(/[?&]tz=/);
});

test('an expired session keeps the settings dialog’s unsaved edits and opens it again', async ({ loggedIn: page, context, expectHttpError }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const { data } = await api.call<{ data: { id: string } }>('POST', '/api/v1/dashboards', { name: 'Kept settings', panels: [] });
  await page.goto(`/d/${data.id}?from=now-6h&to=now&refresh=off`);
  const view = new DashboardView(page);
  await view.edit();
  await page.getByRole('button', { name: 'Settings' }).click();
  const dialog = page.getByRole('dialog', { name: 'Dashboard settings' });
  await dialog.getByLabel('Default from').fill('now-2h');
  await dialog.getByLabel('Default refresh').selectOption('1m');
  await dialog.getByRole('button', { name: 'Add variable' }).click();
  const row = dialog.getByRole('group', { name: 'Variable 1' });
  await row.getByLabel('Name').fill('host');
  await row.getByLabel('Metric').fill(CPU);
  await row.getByLabel('Tag key').selectOption('host');

  await context.clearCookies();
  expectHttpError(401, /.*/);
  await dialog.getByRole('button', { name: 'Save settings' }).click();
  await expect(page).toHaveURL(/\/login\?redirect=/);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(new RegExp(`/d/${data.id}\\?`));
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('status')).toContainText('the changes you had not saved are back');
  await expect(dialog.getByLabel('Default from')).toHaveValue('now-2h');
  await expect(dialog.getByLabel('Default refresh')).toHaveValue('1m');
  await expect(row.getByLabel('Name')).toHaveValue('host');
  await expect(row.getByLabel('Metric')).toHaveValue(CPU);
  await expect(row.getByLabel('Tag key')).toHaveValue('host');
  await dialog.getByRole('button', { name: 'Save settings' }).click();
  await expect(dialog).toBeHidden();
  const stored = await api.call<{ data: { settings: unknown; variables: unknown[] } }>('GET', `/api/v1/dashboards/${data.id}`);
  expect(stored.data.settings).toEqual(expect.objectContaining({ timeRange: { from: 'now-2h', to: 'now' }, refresh: '1m' }));
  expect(stored.data.variables).toEqual([expect.objectContaining({ name: 'host', metric: CPU, tagKey: 'host' })]);

  // Kept once: the next visit opens the dashboard, not the dialog.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Kept settings' })).toBeVisible();
  await expect(dialog).toHaveCount(0);
});
