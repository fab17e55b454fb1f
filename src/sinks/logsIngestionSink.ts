import type { TokenCredential } from '@azure/core-auth';
import { isRestError } from '@azure/core-rest-pipeline';
import { LogsIngestionClient, isAggregateLogsUploadError } from '@azure/monitor-ingestion';
import { tableDefinitions, type StreamRows, type TableName, type TableRows } from '../tables/generated.js';
import { describeError } from '../lib/redact.js';
import { fitToIngestionLimits, type Truncation } from './ingestionLimits.js';
import { SinkRejectedError, type RecordSink, type SendOptions, type StreamSink } from './sink.js';

export interface LogsIngestionSinkOptions {
  readonly endpoint: string;
  readonly dcrImmutableId: string;
  readonly credential: TokenCredential;
  /** Token audience; default the public cloud's https://monitor.azure.com. */
  readonly audience?: string;
  /** Parallel 1 MB requests per batch; the DCR allows 12,000 requests/min. */
  readonly maxConcurrency?: number;
  /** Passed to the SDK client (tests shorten the backoff). */
  readonly retryOptions?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
}

/**
 * Writes rows to the DCR stream declared for each table. Chunking (~1 MB), gzip and retries of
 * 429/5xx (honouring Retry-After) are the SDK's; what is still rejected after them fails the batch.
 * Rows over the service's limits (64 KB per field, 1 MB per record) are cut to fit first, and every
 * cut is told to the caller's `onTruncated` once the batch is accepted.
 */
export function logsIngestionSink(options: LogsIngestionSinkOptions): RecordSink & StreamSink {
  const client = new LogsIngestionClient(options.endpoint, options.credential, {
    audience: options.audience,
    retryOptions: options.retryOptions,
  });
  /** Uploads records of a table's stream: its rows, or (with a transform) its raw input records. */
  async function upload(table: TableName, rows: readonly object[], sendOptions?: SendOptions): Promise<void> {
    if (rows.length === 0) return;
    const stream = tableDefinitions[table].stream;
    const truncations: Truncation[] = [];
    const fitted = rows.map((row) => {
      const result = fitToIngestionLimits(row);
      truncations.push(...result.truncations);
      return result.row;
    });
    const signal = sendOptions?.signal;
    try {
      signal?.throwIfAborted();
      await client.upload(options.dcrImmutableId, stream, fitted as unknown as Record<string, unknown>[], {
        maxConcurrency: options.maxConcurrency ?? 4,
        // Every request and every retry wait of the upload stops when the run's deadline comes.
        abortSignal: signal,
      });
      // The SDK stops starting chunks once aborted and returns without an error for those it skipped.
      signal?.throwIfAborted();
    } catch (error) {
      if (signal?.aborted) {
        throw new SinkRejectedError(
          table,
          rows.length,
          rows.length,
          `${stream}: the upload was aborted (${describeError(signal.reason)})`,
        );
      }
      if (isAggregateLogsUploadError(error)) {
        const rejected = error.errors.reduce((sum, failure) => sum + failure.failedLogs.length, 0);
        const first = error.errors[0]?.cause;
        throw new SinkRejectedError(table, rejected, rows.length, `${stream}: ${explain(first)}`);
      }
      throw new SinkRejectedError(table, rows.length, rows.length, `${stream}: ${explain(error)}`);
    }
    if (truncations.length > 0) sendOptions?.onTruncated?.(truncations);
  }
  return {
    description: `Logs Ingestion ${options.endpoint} (${options.dcrImmutableId})`,
    send<Table extends TableName>(
      table: Table,
      rows: readonly TableRows[Table][],
      sendOptions?: SendOptions,
    ): Promise<void> {
      return upload(table, rows, sendOptions);
    },
    sendStream<Table extends TableName>(
      table: Table,
      records: readonly StreamRows[Table][],
      sendOptions?: SendOptions,
    ): Promise<void> {
      return upload(table, records, sendOptions);
    },
  };
}

/** Turns the service's status into the fix an operator needs. */
function explain(error: unknown): string {
  const detail = describeError(error).split('\n')[0] ?? '';
  if (!isRestError(error)) return detail;
  switch (error.statusCode) {
    case 401:
    case 403:
      return `HTTP ${error.statusCode} (${detail}); the identity needs 'Monitoring Metrics Publisher' on the data collection rule`;
    case 404:
      return `HTTP 404 (${detail}); check LOGS_INGESTION_ENDPOINT, LOGS_INGESTION_DCR_ID and that the DCR declares the stream`;
    case 413:
      return `HTTP 413 (${detail}); a record is larger than the 1 MB request limit`;
    default:
      return `HTTP ${error.statusCode ?? '?'} (${detail})`;
  }
}
