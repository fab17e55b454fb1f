import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

/** A credential handing out one token the emulators accept: benches measure data paths, not MSAL. */
export function staticTokenCredential(token: string): TokenCredential {
  const accessToken: AccessToken = { token, expiresOnTimestamp: Date.now() + 3_600_000 };
  return { getToken: () => Promise.resolve(accessToken) };
}

/** Fetches a token from the managed-identity emulator the way App Service's endpoint is called. */
export async function tokenFromIdentityEndpoint(
  env: Record<string, string>,
  resource: string,
): Promise<string> {
  const url = new URL(env.IDENTITY_ENDPOINT ?? '');
  url.searchParams.set('resource', resource);
  url.searchParams.set('api-version', '2019-08-01');
  url.searchParams.set('client_id', env.AZURE_CLIENT_ID ?? '');
  const response = await fetch(url, { headers: { 'X-IDENTITY-HEADER': env.IDENTITY_HEADER ?? '' } });
  if (!response.ok) throw new Error(`identity endpoint answered ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** Peak resident set size while `work` runs, sampled every 10 ms. */
export async function withPeakRss<T>(work: () => Promise<T>): Promise<{ result: T; peakRssBytes: number }> {
  // memoryUsage.rss() reads one number; memoryUsage() walks the heap spaces too, 100 times a second.
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, peakRssBytes: peak };
  } finally {
    clearInterval(sampler);
  }
}

export const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version };

/**
 * A sibling module as a child process's entry: its `.ts` source run through tsx when we run from sources
 * (bench, tests), its `.js` when compiled. The child gets only that loader, not its parent's flags.
 */
export function siblingEntry(from: string, name: string): { entry: string; execArgv: string[] } {
  const fromSources = from.endsWith('.ts');
  return {
    entry: fileURLToPath(new URL(`./${name}.${fromSources ? 'ts' : 'js'}`, from)),
    execArgv: fromSources ? ['--import', 'tsx'] : [],
  };
}

/**
 * CPU time of the whole machine so far, in ms: `busy` (user, nice, system, irq, softirq, steal) and
 * `total` (busy + idle + iowait), summed over all cores, from /proc/stat; undefined elsewhere. Two
 * readings say how busy the machine was meanwhile, whoever kept it busy.
 */
export function machineCpuMs(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>((sum, t) => sum + (t ?? 0), 0);
    const total = busy + (idle ?? 0) + (iowait ?? 0);
    // USER_HZ is 100 on every Linux Node runs on.
    return Number.isFinite(total) ? { busy: busy * 10, total: total * 10 } : undefined;
  } catch {
    return undefined;
  }
}
