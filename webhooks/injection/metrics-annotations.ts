import { ports } from '../../cdk8s/names.js';
import { annotations, PROXY_METRICS_PATH } from './names.js';

const SCRAPE_KEYS = [annotations.prometheusScrape, annotations.prometheusPort, annotations.prometheusPath];

/**
 * The pod's Prometheus scrape annotations with the proxy's metrics merged in: a pod that says
 * nothing about scraping gets the proxy's port and path. A pod that already declares its own keeps
 * them as they are, its own metrics being the ones its owners asked for: the proxy does not (yet)
 * serve the application's metrics merged with its own, as Istio's agent does on 15020, so pointing
 * Prometheus at it would lose them. The proxy's metrics port stays declared on its container for
 * scrape configurations that select by port name. Pure.
 */
export function withScrapeAnnotations(existing: Readonly<Record<string, string>>): Record<string, string> {
  if (SCRAPE_KEYS.some((k) => existing[k] !== undefined)) return { ...existing };
  return {
    ...existing,
    [annotations.prometheusScrape]: 'true',
    [annotations.prometheusPort]: String(ports.proxyMetrics),
    [annotations.prometheusPath]: PROXY_METRICS_PATH,
  };
}
