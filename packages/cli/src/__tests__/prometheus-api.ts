/** The parts of Prometheus's HTTP API (v1) the tests read. */
export class PrometheusApi {
  constructor(readonly url: string) {}

  private async get<T>(path: string, params: Record<string, string | string[]> = {}): Promise<{ status: string; data: T; error?: string }> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) for (const v of [value].flat()) search.append(key, v);
    const response = await fetch(`${this.url}/api/v1/${path}?${search}`, { signal: AbortSignal.timeout(10_000) });
    return (await response.json()) as { status: string; data: T; error?: string };
  }

  /** An instant query now: the series, or the error Prometheus gave (a parse error, say). */
  async query(expr: string): Promise<{ series: { metric: Record<string, string>; value: [number, string] }[]; error?: string }> {
    const answer = await this.get<{ result: { metric: Record<string, string>; value: [number, string] }[] }>('query', { query: expr });
    return answer.status === 'success' ? { series: answer.data.result } : { series: [], error: answer.error ?? answer.status };
  }

  /** The label sets of the series a selector matches. */
  async series(selector: string): Promise<Record<string, string>[]> {
    const answer = await this.get<Record<string, string>[]>('series', { 'match[]': selector, start: String(Date.now() / 1000 - 3600) });
    return answer.data ?? [];
  }

  /** Every metric name Prometheus holds. */
  async metricNames(): Promise<Set<string>> {
    return new Set((await this.get<string[]>('label/__name__/values')).data);
  }

  /** The alerting rules as loaded, with their health. */
  async rules(): Promise<{ name: string; query: string; health: string; lastError?: string }[]> {
    const answer = await this.get<{
      groups: { rules: { type: string; name: string; query: string; health: string; lastError?: string }[] }[];
    }>('rules');
    return answer.data.groups.flatMap((g) => g.rules.filter((r) => r.type === 'alerting'));
  }

  /** Alerts pending or firing now. */
  async alerts(): Promise<{ labels: Record<string, string>; state: string }[]> {
    return (await this.get<{ alerts: { labels: Record<string, string>; state: string }[] }>('alerts')).data.alerts;
  }

  /** The scrape targets Prometheus knows, with their health. */
  async activeTargets(): Promise<{ labels: Record<string, string>; health: string }[]> {
    return (await this.get<{ activeTargets: { labels: Record<string, string>; health: string }[] }>('targets', { state: 'active' })).data
      .activeTargets;
  }
}
