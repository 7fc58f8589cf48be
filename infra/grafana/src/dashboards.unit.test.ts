import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dashboards, dashboardText } from './dashboards';

/** A panel or row of Grafana's dashboard JSON model, as far as these checks read it. */
interface PanelModel {
  id?: number;
  type: string;
  title?: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: { refId?: string; expr?: string; legendFormat?: string; datasource?: { uid?: string } }[];
  panels?: PanelModel[];
}

interface DashboardModel {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: PanelModel[];
  templating: { list: { name: string; datasource?: { uid?: string } }[] };
}

const root = join(__dirname, '..');
const files = readdirSync(join(root, 'dashboards')).filter((f) => f.endsWith('.json'));
const models = files.map((file) => ({ file, model: JSON.parse(readFileSync(join(root, 'dashboards', file), 'utf8')) as DashboardModel }));
const provisionedUid = /uid:\s*(\S+)/.exec(readFileSync(join(root, 'provisioning', 'datasources', 'prometheus.yml'), 'utf8'))?.[1];
/** Grafana's own variables, never defined by a dashboard. */
const BUILT_IN = new Set(['__rate_interval', '__interval', '__interval_ms', '__range', '__range_s', '__range_ms', '__name']);

const allPanels = (model: DashboardModel): PanelModel[] => model.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

describe('the provisioned Grafana dashboards (Grafana’s dashboard JSON model)', () => {
  it('are exactly what infra/grafana/src produces (npm run dashboards:generate)', () => {
    const generated = dashboards();
    expect(files.sort()).toEqual(Object.keys(generated).sort());
    for (const [file, dashboard] of Object.entries(generated)) {
      expect([file, readFileSync(join(root, 'dashboards', file), 'utf8') === dashboardText(dashboard)]).toEqual([file, true]);
    }
  });

  it('have a schemaVersion, a unique uid and title, and a panel for each stage they promise', () => {
    expect(models.map((m) => m.model.uid)).toEqual([...new Set(models.map((m) => m.model.uid))]);
    for (const { model } of models) {
      expect(model.schemaVersion).toBeGreaterThanOrEqual(39);
      expect(model.title).not.toBe('');
      expect(model.panels.length).toBeGreaterThan(5);
    }
  });

  it('number every panel uniquely and place it on the 24-column grid without overlap', () => {
    for (const { file, model } of models) {
      const panels = allPanels(model);
      const ids = panels.map((p) => p.id);
      expect([file, ids.every((id) => Number.isInteger(id) && (id as number) > 0)]).toEqual([file, true]);
      expect([file, new Set(ids).size]).toEqual([file, ids.length]);
      const boxes = panels.map((p) => ({ title: p.title, ...(p.gridPos as NonNullable<PanelModel['gridPos']>) }));
      for (const box of boxes) {
        expect([file, box.title, [box.h, box.w, box.x, box.y].every(Number.isInteger)]).toEqual([file, box.title, true]);
        expect([file, box.title, box.x >= 0 && box.w > 0 && box.x + box.w <= 24 && box.h > 0]).toEqual([file, box.title, true]);
      }
      for (const [i, a] of boxes.entries()) {
        for (const b of boxes.slice(i + 1)) {
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          expect([file, a.title, b.title, overlap]).toEqual([file, a.title, b.title, false]);
        }
      }
    }
  });

  it('query only the provisioned datasource, by its uid', () => {
    expect(provisionedUid).toBe('pipeline-prometheus');
    for (const { file, model } of models) {
      for (const panel of allPanels(model).filter((p) => p.type !== 'row')) {
        expect([file, panel.title, panel.datasource?.uid]).toEqual([file, panel.title, provisionedUid]);
        for (const target of panel.targets ?? [])
          expect([file, panel.title, target.datasource?.uid]).toEqual([file, panel.title, provisionedUid]);
      }
      for (const variable of model.templating.list)
        expect([file, variable.name, variable.datasource?.uid]).toEqual([file, variable.name, provisionedUid]);
    }
  });

  it('define every $variable their queries and legends use, and give each query a unique refId', () => {
    for (const { file, model } of models) {
      const defined = new Set(model.templating.list.map((v) => v.name));
      expect([file, defined.size]).toEqual([file, 1]);
      for (const panel of allPanels(model).filter((p) => p.type !== 'row')) {
        const targets = panel.targets ?? [];
        expect([file, panel.title, targets.length > 0]).toEqual([file, panel.title, true]);
        const refIds = targets.map((t) => t.refId);
        expect([file, panel.title, new Set(refIds).size, refIds.every(Boolean)]).toEqual([file, panel.title, targets.length, true]);
        for (const target of targets) {
          const used = [...`${target.expr} ${target.legendFormat ?? ''}`.matchAll(/\$\{?(\w+)/g)].map((m) => m[1] as string);
          for (const name of used.filter((n) => !BUILT_IN.has(n)))
            expect([file, panel.title, name, defined.has(name)]).toEqual([file, panel.title, name, true]);
        }
      }
    }
  });

  it('take rates over $__rate_interval and latencies as histogram_quantile over histogram buckets', () => {
    for (const { file, model } of models) {
      for (const panel of allPanels(model)) {
        for (const { expr = '' } of panel.targets ?? []) {
          for (const m of expr.matchAll(/\brate\([^[]*\[([^\]]+)\]/g))
            expect([file, panel.title, m[1]]).toEqual([file, panel.title, '$__rate_interval']);
          for (const m of expr.matchAll(/histogram_quantile\([^,]+,\s*sum by \([^)]*\ble\b[^)]*\) \(rate\((\w+)\{/g))
            expect([file, panel.title, m[1]?.endsWith('_bucket')]).toEqual([file, panel.title, true]);
          if (/_seconds_bucket/.test(expr))
            expect([file, panel.title, expr.startsWith('histogram_quantile(')]).toEqual([file, panel.title, true]);
        }
      }
    }
  });
});
