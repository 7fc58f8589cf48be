import { metricNames } from './promql-names';

describe('metricNames', () => {
  it('finds the metrics of a query, not its functions, labels, ranges, groupings or keywords', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (service, le) (rate(consumer_event_age_seconds_bucket{service=~"$service", x="a{b}"}[$__rate_interval])))' +
          ' > on (service) max by (service) (consumer_event_age_target_seconds) and time() - job_last_due_timestamp_seconds > 900',
      ),
    ).toEqual(['consumer_event_age_seconds_bucket', 'consumer_event_age_target_seconds', 'job_last_due_timestamp_seconds']);
    expect(metricNames('sum(up{job="pipeline"}) or vector(0)')).toEqual(['up']);
    expect(metricNames('max by (instance) (cdc_leader{service="cdc-reader"}) * 1000 offset 5m')).toEqual(['cdc_leader']);
  });
});
