import { down, status, up } from './local-cluster.js';

/** `npm run cluster -- up | down | status`: the local Kubernetes control plane. */
async function main(command: string | undefined): Promise<number> {
  const log = (line: string): void => console.log(line);
  switch (command) {
    case 'up':
      await up(log);
      return 0;
    case 'down':
      await down(log);
      return 0;
    case 'status': {
      const components = await status();
      for (const c of components) {
        console.log(
          `${c.name.padEnd(24)} ${c.healthy ? 'healthy' : 'DOWN'.padEnd(7)} ${c.pid ?? '-'}\t${c.detail.split('\n')[0]}`,
        );
      }
      return components.every((c) => c.healthy) ? 0 : 1;
    }
    default:
      console.error('usage: npm run cluster -- up | down | status');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`cluster: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
